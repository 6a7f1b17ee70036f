package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in order, without gaps.
func migrations() ([]migration.Migration, error) {
	return migration.Load(migrationFiles, "migrations/*.sql")
}

// latestVersion is the schema version this binary knows.
func latestVersion() (int, error) {
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	return len(ms), nil
}

func newerSchemaError(have, know int) error {
	return licensing.Errorf(licensing.EINVALID, "store schema version %d is newer than this licensectl supports (%d); upgrade licensectl", have, know)
}

// migrate brings the store at db up to the latest schema in one transaction,
// so an old store is upgraded on open and a failed upgrade leaves it as it was.
func migrate(ctx context.Context, db *sql.DB, clock licensing.Clock) error {
	return migrateTo(ctx, db, clock, 0)
}

// migrateTo brings the store up to schema version target (0: the latest);
// tests make stores of older versions with it.
func migrateTo(ctx context.Context, db *sql.DB, clock licensing.Clock, target int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if target > 0 && target < len(ms) {
		ms = ms[:target]
	}
	latest := len(ms)
	// user_version is in the header: reading it is cheap and takes no write
	// lock, which keeps every command's open fast once the store is current.
	var uv int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if uv > latest {
		return newerSchemaError(uv, latest)
	}
	if uv == latest {
		return nil
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return err
	}
	var have int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return err
	}
	if have > latest {
		return newerSchemaError(have, latest)
	}
	now := clock.Now().Unix()
	for _, m := range ms[have:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if step := goSteps()[migration.Topic(m.Name)]; step != nil {
			if err := step(ctx, tx); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.Version, now); err != nil {
			return err
		}
	}
	// PRAGMA takes no parameters; both values are integers of ours.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", ApplicationID, latest)); err != nil {
		return err
	}
	return tx.Commit()
}

// goSteps are the parts of migrations that SQL cannot do, by migration
// topic (the name without its number). Each runs right after its
// migration's SQL, in the same transaction.
func goSteps() map[string]func(context.Context, *sql.Tx) error {
	return map[string]func(context.Context, *sql.Tx) error{"unicode_names": func(ctx context.Context, t *sql.Tx) error { return migration.FoldNames(ctx, &tx{tx: t}) }}
}

// SchemaVersion returns the highest migration applied to the store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
