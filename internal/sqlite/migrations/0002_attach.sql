-- Attaching licenses bought with another email: pending requests, each with
-- the keyed hash of its confirmation code (never the code), and the key of
-- that hash.

-- One random secret per store, made on first use by the attach code (Go's
-- crypto/rand, not SQLite's PRNG). A hash keyed with it cannot be reversed by
-- anyone who has only the hashes.
CREATE TABLE attach_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL
) STRICT;

-- Every code ever requested: the live ones are the pending attaches; the
-- others give a clear answer to a reused, voided or expired code, and the
-- recent ones count against the rate limits.
CREATE TABLE attach_requests (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id), -- who asked; only it may confirm
    purchase_id  TEXT NOT NULL REFERENCES purchases (id),
    license_key  TEXT, -- NULL: every license of the purchase
    sent_to      TEXT NOT NULL, -- the purchase email the code went to
    code_hash    BLOB NOT NULL, -- HMAC-SHA256(attach_secret, code)
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0, -- wrong codes while pending
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'used', 'void', 'superseded', 'undelivered')),
    closed_at    INTEGER
) STRICT;

CREATE INDEX attach_requests_account ON attach_requests (account_id, requested_at);
CREATE INDEX attach_requests_purchase ON attach_requests (purchase_id, requested_at);
