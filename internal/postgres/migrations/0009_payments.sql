-- The SQLite store's migration 0010 (payments) on PostgreSQL.
CREATE TABLE payment_customers (
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    provider     TEXT COLLATE "C" NOT NULL,
    customer_ref TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, provider)
);

CREATE TABLE payment_events (
    provider    TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, id)
);

ALTER TABLE purchases ADD COLUMN pending_request TEXT NOT NULL DEFAULT '';
CREATE INDEX purchases_payment_ref ON purchases (payment_ref) WHERE payment_ref <> '';
ALTER TABLE licenses ADD COLUMN past_due_since BIGINT;
