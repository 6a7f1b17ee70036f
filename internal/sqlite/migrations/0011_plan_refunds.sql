-- A refunded license's maintenance plans follow it: their money comes back
-- in refunds against their maintenance purchases; refund_id marks a plan
-- given back, so that it is never given back twice.
ALTER TABLE maintenance_plans ADD COLUMN refund_id TEXT REFERENCES purchases (id);
