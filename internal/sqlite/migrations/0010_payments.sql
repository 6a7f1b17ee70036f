-- A payment provider (issue 19): each account is a customer of it; a
-- purchase whose payment waits for the customer (3-D Secure) keeps the
-- request it will make when the payment completes; webhook events are
-- taken once each; a subscription whose renewal charge failed is past due
-- (valid for a grace period) from that date.
CREATE TABLE payment_customers (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    provider     TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    PRIMARY KEY (account_id, provider)
) STRICT, WITHOUT ROWID;

CREATE TABLE payment_events (
    provider    TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, id)
) STRICT, WITHOUT ROWID;

ALTER TABLE purchases ADD COLUMN pending_request TEXT NOT NULL DEFAULT '';
CREATE INDEX purchases_payment_ref ON purchases (payment_ref) WHERE payment_ref <> '';
ALTER TABLE licenses ADD COLUMN past_due_since INTEGER;
