-- Activations: machines holding seats of licenses, online or offline; the
-- keys that sign offline certificates; the builds a license may download.

-- An operator can suspend a license: it then refuses activations and fails validation.
ALTER TABLE licenses ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;

-- Current activations only: a release deletes the row (the audit log keeps the
-- history). licenses.seats_used counts these rows and is changed in the same
-- transaction as every insert and delete.
CREATE TABLE activations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: the audit log names activations by id
    license_id   INTEGER NOT NULL REFERENCES licenses (id),
    machine      TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    os           TEXT NOT NULL CHECK (os IN ('windows', 'macos', 'linux')),
    version      TEXT NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('online', 'offline')),
    nonce        TEXT,  -- offline: the request's nonce, repeated in certificate and proof
    machine_key  BLOB,  -- offline: the machine's Ed25519 public key, checks deactivation proofs
    activated_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    UNIQUE (license_id, fingerprint)
) STRICT;

CREATE INDEX activations_machine ON activations (machine);

-- Deactivation proofs already used: a proof frees a seat once.
CREATE TABLE used_proofs (
    nonce   TEXT PRIMARY KEY,
    used_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY, -- key id: hex of the first 8 bytes of SHA-256(public key)
    private_key BLOB NOT NULL,    -- Ed25519 seed; never leaves the store
    public_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER           -- NULL: the current key
) STRICT, WITHOUT ROWID;

-- At most one current key.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys ((1)) WHERE retired_at IS NULL;

CREATE TABLE builds (
    product     TEXT NOT NULL REFERENCES products (sku),
    os          TEXT NOT NULL CHECK (os IN ('windows', 'macos', 'linux')),
    version     TEXT NOT NULL,
    package     TEXT NOT NULL CHECK (package IN ('exe', 'msi', 'pkg', 'dmg', 'deb', 'rpm')),
    url         TEXT NOT NULL,
    released_at INTEGER NOT NULL,
    PRIMARY KEY (product, os, version)
) STRICT, WITHOUT ROWID;
