-- Webhooks (issue 21): an account's endpoints and the deliveries of its
-- events to them. The dispatcher fans the events outbox out to deliveries
-- (cursor: the last event id it looked at for the endpoint), claims due
-- deliveries for a lease (claimed_until) and records every attempt.
-- secret is kept as issued: signing needs it (it is never shown again).
-- Times in milliseconds are *_ms; the rest are unix seconds.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    url             TEXT NOT NULL,
    events          TEXT NOT NULL, -- comma-separated types ("license." for a prefix), or '*'
    description     TEXT NOT NULL DEFAULT '',
    secret          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    cursor          INTEGER NOT NULL,
    disabled_at     INTEGER,
    disabled_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX webhooks_account ON webhooks (account_id, id);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL REFERENCES events (id),
    object           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_at_ms       INTEGER NOT NULL,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    last_code        INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    UNIQUE (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at_ms, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_object ON webhook_deliveries (webhook_id, object, id) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    code        INTEGER NOT NULL, -- 0: no response
    latency_ms  INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, n)
) STRICT;
