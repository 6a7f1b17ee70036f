-- Leased activations: an activation with a lease holds its seat until
-- lease_expires_at unless a heartbeat renews it by lease_seconds; the
-- next activation of its license, or the server's sweep, releases it then.
ALTER TABLE activations ADD COLUMN lease_seconds INTEGER; -- NULL: not leased
ALTER TABLE activations ADD COLUMN lease_expires_at INTEGER;
CREATE INDEX activations_lease ON activations (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
