-- Builds that download: each build names its target (the OS and package
-- kind the vendor ships: windows, macos, linux-deb, linux-rpm), its size
-- and SHA-256, and where its bytes are: an artifact (a file name in the
-- server's artifact directory) or an upstream url. Seeded builds predate
-- this and have size 0 and sha256 '' (unknown: they cannot be verified).
-- A Linux build of one version may now come as .deb and .rpm, so the key
-- is (product, target, version) and the table is rebuilt.
CREATE TABLE builds_new (
    product     TEXT NOT NULL REFERENCES products (sku),
    target      TEXT NOT NULL CHECK (target IN ('windows', 'macos', 'linux-deb', 'linux-rpm')),
    os          TEXT NOT NULL CHECK (os IN ('windows', 'macos', 'linux')),
    version     TEXT NOT NULL,
    package     TEXT NOT NULL CHECK (package IN ('exe', 'msi', 'pkg', 'dmg', 'deb', 'rpm')),
    url         TEXT NOT NULL DEFAULT '', -- '' for an artifact
    artifact    TEXT NOT NULL DEFAULT '', -- '' for an upstream build
    size        INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    sha256      TEXT NOT NULL DEFAULT '',
    released_at INTEGER NOT NULL,
    PRIMARY KEY (product, target, version),
    CHECK ((url = '') <> (artifact = '')),
    CHECK (os = CASE WHEN target LIKE 'linux-%' THEN 'linux' ELSE target END)
) STRICT, WITHOUT ROWID;

INSERT INTO builds_new (product, target, os, version, package, url, released_at)
SELECT product, CASE WHEN os = 'linux' AND package = 'rpm' THEN 'linux-rpm' WHEN os = 'linux' THEN 'linux-deb' ELSE os END,
       os, version, package, url, released_at
FROM builds;

DROP TABLE builds;
ALTER TABLE builds_new RENAME TO builds;
