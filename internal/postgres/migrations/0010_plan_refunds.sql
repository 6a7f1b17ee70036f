-- The SQLite store's migration 0011 (plan refunds) on PostgreSQL.
ALTER TABLE maintenance_plans ADD COLUMN refund_id TEXT COLLATE "C" REFERENCES purchases (id);
