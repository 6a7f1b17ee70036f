-- Money (issue 19): purchases have a kind, a payment status and what was
-- refunded of them; a refund is itself a purchase of kind 'refund' with
-- negative amounts, naming the purchase it refunds. A refunded license is
-- revoked: it leaves its account (account_id NULL, so no account-scoped
-- query finds it: not listed, not activated, not attached, not renewed) and
-- remembers the account it was in, for `licenses list --include-revoked`
-- and for validation's REVOKED.
ALTER TABLE purchases ADD COLUMN kind TEXT NOT NULL DEFAULT 'purchase'
    CHECK (kind IN ('purchase', 'renewal', 'refund'));
ALTER TABLE purchases ADD COLUMN payment_status TEXT NOT NULL DEFAULT 'paid'
    CHECK (payment_status IN ('paid', 'pending', 'failed', 'refunded', 'partially_refunded'));
ALTER TABLE purchases ADD COLUMN refunded_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchases ADD COLUMN refund_of TEXT REFERENCES purchases (id);
ALTER TABLE purchases ADD COLUMN reason TEXT NOT NULL DEFAULT '';
-- The payment provider's reference (a PaymentIntent or Refund id); '' with none.
ALTER TABLE purchases ADD COLUMN payment_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE purchases ADD COLUMN receipt_url TEXT NOT NULL DEFAULT '';
UPDATE purchases SET kind = 'renewal' WHERE idempotency_key LIKE 'renewal-%';
CREATE INDEX purchases_account_created ON purchases (account_id, created_at, id);
CREATE INDEX purchases_refund_of ON purchases (refund_of) WHERE refund_of IS NOT NULL;

ALTER TABLE licenses ADD COLUMN revoked_at INTEGER;
ALTER TABLE licenses ADD COLUMN revoked_account_id INTEGER REFERENCES accounts (id);
ALTER TABLE licenses ADD COLUMN refund_id TEXT REFERENCES purchases (id);
CREATE INDEX licenses_revoked ON licenses (revoked_account_id, id) WHERE revoked_account_id IS NOT NULL;
CREATE INDEX licenses_refund ON licenses (refund_id) WHERE refund_id IS NOT NULL;
