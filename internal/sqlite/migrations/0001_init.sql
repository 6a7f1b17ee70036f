-- The whole schema of the first release. Times are INTEGER unix seconds (UTC),
-- booleans INTEGER 0/1. STRICT tables refuse values of the wrong type, so a bug
-- cannot quietly store text in a time column.

CREATE TABLE products (
    sku                     TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    term                    TEXT NOT NULL CHECK (term IN ('perpetual', 'subscription', 'addon')),
    edition                 TEXT NOT NULL DEFAULT '',
    price_cents             INTEGER NOT NULL DEFAULT 0,
    monthly_price_cents     INTEGER NOT NULL DEFAULT 0,
    annual_price_cents      INTEGER NOT NULL DEFAULT 0,
    maintenance_price_cents INTEGER NOT NULL DEFAULT 0,
    platforms               TEXT NOT NULL DEFAULT '', -- comma-joined
    seats                   INTEGER NOT NULL DEFAULT 1,
    latest_version          TEXT NOT NULL DEFAULT '',
    currency                TEXT NOT NULL DEFAULT 'USD',
    per_license             INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE, -- always stored lower case
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE companies (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL COLLATE NOCASE,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
) STRICT;

CREATE TABLE purchases (
    id              TEXT PRIMARY KEY, -- "P-" + 12 Crockford base32 characters
    account_id      INTEGER NOT NULL REFERENCES accounts (id), -- the buyer
    purchase_email  TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    total_cents     INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    billing         TEXT NOT NULL,
    trial           INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
) STRICT;

CREATE TABLE purchase_items (
    purchase_id      TEXT NOT NULL REFERENCES purchases (id),
    line_no          INTEGER NOT NULL,
    sku              TEXT NOT NULL,
    description      TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    amount_cents     INTEGER NOT NULL,
    company          TEXT NOT NULL DEFAULT '',
    billing          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (purchase_id, line_no)
) STRICT;

-- The payment mode of a subscription type, fixed by the account's first purchase of it.
CREATE TABLE billing_modes (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    sku        TEXT NOT NULL,
    billing    TEXT NOT NULL CHECK (billing IN ('monthly', 'annual')),
    PRIMARY KEY (account_id, sku)
) STRICT;

-- At most one trial request per license type and account.
CREATE TABLE trials (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    sku        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, sku)
) STRICT;

CREATE TABLE licenses (
    id               INTEGER PRIMARY KEY,
    key              TEXT NOT NULL UNIQUE,
    -- NULL: bought for an email that has no account yet; CreateAccount attaches it.
    account_id       INTEGER REFERENCES accounts (id),
    product          TEXT NOT NULL REFERENCES products (sku),
    kind             TEXT NOT NULL CHECK (kind IN ('commercial', 'trial')),
    term             TEXT NOT NULL CHECK (term IN ('perpetual', 'monthly', 'annual')),
    company_id       INTEGER REFERENCES companies (id), -- NULL: the global pool
    purchase_id      TEXT NOT NULL REFERENCES purchases (id),
    purchase_email   TEXT NOT NULL,
    allow_rm         INTEGER NOT NULL DEFAULT 0,
    auto_renew       INTEGER NOT NULL DEFAULT 0,
    expires_at       INTEGER, -- NULL: never expires
    maintenance_till INTEGER, -- NULL: no maintenance plan
    seats            INTEGER NOT NULL,
    seats_used       INTEGER NOT NULL DEFAULT 0, -- kept up to date by activations
    created_at       INTEGER NOT NULL
) STRICT;

-- Every list filter and sort is scoped to one account, so each index is led by
-- account_id; the implicit trailing rowid also serves the "then by id" tie-break,
-- and (account_id) alone gives the default order (by id) without a sort.
CREATE INDEX licenses_account ON licenses (account_id);
CREATE INDEX licenses_account_product ON licenses (account_id, product);
CREATE INDEX licenses_account_company ON licenses (account_id, company_id);
CREATE INDEX licenses_account_kind ON licenses (account_id, kind);
CREATE INDEX licenses_account_expires ON licenses (account_id, expires_at);
CREATE INDEX licenses_account_seats_used ON licenses (account_id, seats_used);
CREATE INDEX licenses_account_auto_renew ON licenses (account_id, auto_renew);
CREATE INDEX licenses_account_maintenance ON licenses (account_id, maintenance_till);
CREATE INDEX licenses_account_allow_rm ON licenses (account_id, allow_rm);
CREATE INDEX licenses_account_key ON licenses (account_id, key);
CREATE INDEX licenses_account_purchase ON licenses (account_id, purchase_id);
-- A purchase's licenses may belong to several accounts (or none): an idempotent
-- replay, and attaching by purchase ID, look them up across accounts.
CREATE INDEX licenses_purchase ON licenses (purchase_id);
-- Only the licenses waiting for an account are looked up by email.
CREATE INDEX licenses_unowned_email ON licenses (purchase_email) WHERE account_id IS NULL;

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER, -- NULL: an operator action outside any account
    time       INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}' -- compact JSON
) STRICT;

CREATE INDEX audit_account_id ON audit (account_id, id);
CREATE INDEX audit_account_action ON audit (account_id, action);
