-- Events (issue 21): every change a use case commits writes its events in
-- the same transaction - a transactional outbox that `events list` reads
-- and, later, webhooks deliver. data is the object's JSON as the API shows
-- it.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    type       TEXT NOT NULL,
    object     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
) STRICT;
CREATE INDEX events_account ON events (account_id, id);
