-- The SQLite store's migration 0008 (leases) on PostgreSQL: a leased
-- activation holds its seat until lease_expires_at unless a heartbeat renews
-- it by lease_seconds; the next activation of its license, or a server's
-- sweep, releases it then.
ALTER TABLE activations ADD COLUMN lease_seconds BIGINT; -- NULL: not leased
ALTER TABLE activations ADD COLUMN lease_expires_at BIGINT;
CREATE INDEX activations_lease ON activations (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
