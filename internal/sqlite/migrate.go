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
	return map[string]func(context.Context, *sql.Tx) error{"unicode_names": foldNames}
}

// foldNames fills in the folded company and machine names
// (licensing.FoldName) of the rows that existed before migration
// unicode_names. Names that only fold alike could be created before (NOCASE
// folds ASCII only): the oldest keeps the folded name, later ones get a
// folded name no input folds to (it holds U+2060, an invisible character
// that names refuse), so the migration never fails and every company stays
// reachable by its exact name.
func foldNames(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, account_id, name FROM companies WHERE name_folded IS NULL ORDER BY id")
	if err != nil {
		return err
	}
	type company struct {
		id, account int64
		name        string
	}
	var cs []company
	for rows.Next() {
		var c company
		if err := rows.Scan(&c.id, &c.account, &c.name); err != nil {
			rows.Close()
			return err
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, c := range cs {
		folded := licensing.FoldName(c.name)
		if k := fmt.Sprint(c.account, "/", folded); taken[k] {
			folded += fmt.Sprint("\u2060", c.id)
		} else {
			taken[k] = true
		}
		if _, err := tx.ExecContext(ctx, "UPDATE companies SET name_folded = ? WHERE id = ?", folded, c.id); err != nil {
			return err
		}
	}
	machines, err := tx.QueryContext(ctx, "SELECT DISTINCT machine FROM activations WHERE machine_folded IS NULL")
	if err != nil {
		return err
	}
	var names []string
	for machines.Next() {
		var m string
		if err := machines.Scan(&m); err != nil {
			machines.Close()
			return err
		}
		names = append(names, m)
	}
	machines.Close()
	if err := machines.Err(); err != nil {
		return err
	}
	for _, m := range names {
		if _, err := tx.ExecContext(ctx, "UPDATE activations SET machine_folded = ? WHERE machine = ? AND machine_folded IS NULL",
			licensing.FoldName(m), m); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
