package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in order, without gaps.
func migrations() ([]migration.Migration, error) {
	return migration.Load(migrationFiles, "migrations/*.sql")
}

// errNoStore: the database holds no licensectl store and Create was not set.
var errNoStore = errors.New("no store")

// migrate brings the store up to the latest schema in one transaction, under
// a transaction-scoped advisory lock named after the schema: replicas that
// start at once take turns, and the later ones find the work done. A failed
// upgrade leaves the store as it was (PostgreSQL's DDL is transactional).
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, create bool, clock licensing.Clock) error {
	return migrateTo(ctx, pool, schema, create, clock, 0)
}

// migrateTo brings the store up to schema version target (0: the latest);
// tests make stores of older versions with it.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, schema string, create bool, clock licensing.Clock, target int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	known := len(ms)
	if target > 0 && target < len(ms) {
		ms = ms[:target]
	}
	latest := len(ms)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "licensectl.migrate:"+schema); err != nil {
		return err
	}
	if create && schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return err
	}
	if !exists && !create {
		return errNoStore
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return err
	}
	if have > known {
		return licensing.Errorf(licensing.EINVALID, "store schema version %d is newer than this licensectl supports (%d); upgrade licensectl", have, known)
	}
	if have > latest {
		return nil
	}
	now := clock.Now().Unix()
	for _, m := range ms[have:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if step := goSteps()[migration.Topic(m.Name)]; step != nil {
			if err := step(ctx, tx); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", m.Version, now); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// goSteps are the parts of migrations that SQL cannot do, by migration
// topic (the name without its number). Each runs right after its
// migration's SQL, in the same transaction.
func goSteps() map[string]func(context.Context, pgx.Tx) error {
	return map[string]func(context.Context, pgx.Tx) error{"unicode_names": func(ctx context.Context, tx pgx.Tx) error { return migration.FoldNames(ctx, newTx(tx)) }}
}

// SchemaVersion returns the highest migration applied to the store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
