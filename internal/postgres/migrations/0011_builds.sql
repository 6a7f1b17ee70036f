-- Builds that download: each build names its target (the OS and package
-- kind the vendor ships: windows, macos, linux-deb, linux-rpm), its size
-- and SHA-256, and where its bytes are: an artifact (a file name in the
-- server's artifact directory) or an upstream url. Seeded builds predate
-- this and have size 0 and sha256 '' (unknown: they cannot be verified).
-- A Linux build of one version may now come as .deb and .rpm, so the key
-- is (product, target, version).
ALTER TABLE builds ADD COLUMN target TEXT COLLATE "C";
UPDATE builds SET target = CASE WHEN os = 'linux' AND package = 'rpm' THEN 'linux-rpm' WHEN os = 'linux' THEN 'linux-deb' ELSE os END;
ALTER TABLE builds
    ALTER COLUMN target SET NOT NULL,
    ADD CONSTRAINT builds_target_check CHECK (target IN ('windows', 'macos', 'linux-deb', 'linux-rpm')),
    ADD CONSTRAINT builds_target_os_check CHECK (os = CASE WHEN target LIKE 'linux-%' THEN 'linux' ELSE target END),
    ALTER COLUMN url SET DEFAULT '',
    ADD COLUMN artifact TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN size BIGINT NOT NULL DEFAULT 0 CHECK (size >= 0),
    ADD COLUMN sha256 TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD CONSTRAINT builds_location_check CHECK ((url = '') <> (artifact = '')),
    DROP CONSTRAINT builds_pkey,
    ADD PRIMARY KEY (product, target, version);
