-- Maintenance plans and the renewals engine's ledger.

-- A plan is bought for one product. license_id NULL: the plan is *available*
-- and has no dates yet, because a plan runs one year from its assignment.
CREATE TABLE maintenance_plans (
    id          TEXT PRIMARY KEY, -- "M-" + 12 Crockford base32 characters
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    product     TEXT NOT NULL REFERENCES products (sku),
    license_id  INTEGER REFERENCES licenses (id),
    starts_at   INTEGER, -- NULL while available
    ends_at     INTEGER, -- NULL while available; moved on by each renewal
    auto_renew  INTEGER NOT NULL DEFAULT 1,
    price_cents INTEGER NOT NULL, -- what this plan's first year cost
    currency    TEXT NOT NULL,
    purchase_id TEXT NOT NULL REFERENCES purchases (id),
    created_at  INTEGER NOT NULL,
    CHECK ((license_id IS NULL) = (starts_at IS NULL) AND (starts_at IS NULL) = (ends_at IS NULL))
) STRICT;

CREATE INDEX maintenance_plans_account ON maintenance_plans (account_id, created_at);
CREATE INDEX maintenance_plans_license ON maintenance_plans (license_id, ends_at) WHERE license_id IS NOT NULL;
CREATE INDEX maintenance_plans_purchase ON maintenance_plans (purchase_id);
-- The engine looks up what fell due; only assigned plans ever do.
CREATE INDEX maintenance_plans_due ON maintenance_plans (ends_at) WHERE license_id IS NOT NULL;
CREATE INDEX licenses_due ON licenses (expires_at) WHERE expires_at IS NOT NULL;

-- One row per end date the engine dealt with: renewed (with its purchase) or
-- expired. The UNIQUE key is what makes a second run for the same date a no-op.
CREATE TABLE renewals (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    kind         TEXT NOT NULL CHECK (kind IN ('maintenance', 'subscription', 'trial')),
    object       TEXT NOT NULL, -- plan id or license key
    due_at       INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('renewed', 'expired')),
    new_end      INTEGER,
    purchase_id  TEXT REFERENCES purchases (id),
    price_cents  INTEGER NOT NULL DEFAULT 0,
    processed_at INTEGER NOT NULL,
    UNIQUE (kind, object, due_at)
) STRICT;
