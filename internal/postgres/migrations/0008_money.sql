-- The SQLite store's migration 0009 (money) on PostgreSQL: purchase kinds,
-- payment status, refunds as purchases of kind 'refund', revoked licenses.
ALTER TABLE purchases ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'purchase'
    CHECK (kind IN ('purchase', 'renewal', 'refund'));
ALTER TABLE purchases ADD COLUMN payment_status TEXT COLLATE "C" NOT NULL DEFAULT 'paid'
    CHECK (payment_status IN ('paid', 'pending', 'failed', 'refunded', 'partially_refunded'));
ALTER TABLE purchases ADD COLUMN refunded_cents BIGINT NOT NULL DEFAULT 0;
-- Deferred: a copy from SQLite writes purchases in id order, a refund maybe
-- before the purchase it refunds.
ALTER TABLE purchases ADD COLUMN refund_of TEXT COLLATE "C" REFERENCES purchases (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE purchases ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE purchases ADD COLUMN payment_ref TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE purchases ADD COLUMN receipt_url TEXT NOT NULL DEFAULT '';
UPDATE purchases SET kind = 'renewal' WHERE idempotency_key LIKE 'renewal-%';
CREATE INDEX purchases_account_created ON purchases (account_id, created_at, id);
CREATE INDEX purchases_refund_of ON purchases (refund_of) WHERE refund_of IS NOT NULL;

ALTER TABLE licenses ADD COLUMN revoked_at BIGINT;
ALTER TABLE licenses ADD COLUMN revoked_account_id BIGINT REFERENCES accounts (id);
ALTER TABLE licenses ADD COLUMN refund_id TEXT COLLATE "C" REFERENCES purchases (id);
CREATE INDEX licenses_revoked ON licenses (revoked_account_id, id) WHERE revoked_account_id IS NOT NULL;
CREATE INDEX licenses_refund ON licenses (refund_id) WHERE refund_id IS NOT NULL;
