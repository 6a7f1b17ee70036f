package migration

import (
	"context"
	"fmt"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Tx is what a Go migration step needs of a store's transaction: each store
// adapts its own (database/sql, pgx) to it.
type Tx interface {
	// Each runs query and calls row once per result row with a function that
	// scans the row, as Rows.Scan does.
	Each(ctx context.Context, query string, row func(scan func(dest ...any) error) error, args ...any) error
	Exec(ctx context.Context, query string, args ...any) error
	// Mark is the dialect's n-th placeholder ("?1", "$1").
	Mark(n int) string
}

// FoldNames fills in the folded company and machine names
// (licensing.FoldName) of the rows that existed before migration
// unicode_names. Names that only fold alike could be created before (SQLite's
// NOCASE and PostgreSQL's lower() in "C" fold ASCII only): the oldest keeps
// the folded name, later ones get a folded name no input folds to (it holds
// U+2060, an invisible character that names refuse), so the migration never
// fails and every company stays reachable by its exact name.
func FoldNames(ctx context.Context, tx Tx) error {
	type company struct {
		id, account int64
		name        string
	}
	var cs []company
	err := tx.Each(ctx, "SELECT id, account_id, name FROM companies WHERE name_folded IS NULL ORDER BY id", func(scan func(...any) error) error {
		var c company
		if err := scan(&c.id, &c.account, &c.name); err != nil {
			return err
		}
		cs = append(cs, c)
		return nil
	})
	if err != nil {
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
		if err := tx.Exec(ctx, "UPDATE companies SET name_folded = "+tx.Mark(1)+" WHERE id = "+tx.Mark(2), folded, c.id); err != nil {
			return err
		}
	}
	var machines []string
	err = tx.Each(ctx, "SELECT DISTINCT machine FROM activations WHERE machine_folded IS NULL", func(scan func(...any) error) error {
		var m string
		err := scan(&m)
		machines = append(machines, m)
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range machines {
		if err := tx.Exec(ctx, "UPDATE activations SET machine_folded = "+tx.Mark(1)+" WHERE machine = "+tx.Mark(2)+" AND machine_folded IS NULL",
			licensing.FoldName(m), m); err != nil {
			return err
		}
	}
	return nil
}
