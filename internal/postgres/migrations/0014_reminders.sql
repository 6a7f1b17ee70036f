-- The SQLite store's migration 0015 (reminders) on PostgreSQL.
CREATE TABLE notices (
    type       TEXT COLLATE "C" NOT NULL,
    object     TEXT COLLATE "C" NOT NULL,
    due_at     BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (type, object, due_at)
);

CREATE TABLE notification_settings (
    account_id           BIGINT PRIMARY KEY REFERENCES accounts (id),
    maintenance_expiring BOOLEAN NOT NULL DEFAULT true,
    trial_ending         BOOLEAN NOT NULL DEFAULT true,
    renewal_failed       BOOLEAN NOT NULL DEFAULT true,
    updated_at           BIGINT NOT NULL
);
