-- Reminders (issue 21). notices records each scheduled event the renewals
-- engine wrote (maintenance.expiring 30 and 7 days before a plan ends,
-- trial.ending 3 days before a trial expires), keyed by type, object and
-- due date: a second run, or one that catches up after a gap, finds the row
-- and writes nothing twice. notification_settings holds an account's
-- reminder emails switches; an account without a row gets every reminder.
CREATE TABLE notices (
    type       TEXT NOT NULL,
    object     TEXT NOT NULL,
    due_at     INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (type, object, due_at)
) STRICT;

CREATE TABLE notification_settings (
    account_id           INTEGER PRIMARY KEY REFERENCES accounts (id),
    maintenance_expiring INTEGER NOT NULL DEFAULT 1,
    trial_ending         INTEGER NOT NULL DEFAULT 1,
    renewal_failed       INTEGER NOT NULL DEFAULT 1,
    updated_at           INTEGER NOT NULL
) STRICT;
