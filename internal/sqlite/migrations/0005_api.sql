-- API tokens (only a SHA-256 of each token is kept; the token has 160 random
-- bits, so a plain hash cannot be brute-forced) and the responses remembered
-- for POST requests carrying an Idempotency-Key.

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    prefix       TEXT NOT NULL UNIQUE,
    hash         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_account ON api_tokens (account_id);

CREATE TABLE idempotency_keys (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0, -- 0: in flight
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT;
