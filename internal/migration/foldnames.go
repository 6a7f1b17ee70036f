package migration

import (
	"context"
	"fmt"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

// FoldNames fills in the folded company and machine names
// (licensing.FoldName) of the rows that existed before migration
// unicode_names. Names that only fold alike could be created before (SQLite's
// NOCASE and PostgreSQL's lower() in "C" fold ASCII only): the oldest keeps
// the folded name, later ones get a folded name no input folds to (it holds
// U+2060, an invisible character that names refuse), so the migration never
// fails and every company stays reachable by its exact name.
func FoldNames(ctx context.Context, tx sqlq.Conn) error {
	type company struct {
		id, account int64
		name        string
	}
	var cs []company
	err := each(ctx, tx, "SELECT id, account_id, name FROM companies WHERE name_folded IS NULL ORDER BY id", func(sc app.Scanner) error {
		var c company
		err := sc.Scan(&c.id, &c.account, &c.name)
		cs = append(cs, c)
		return err
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
		if _, err := tx.Exec(ctx, "UPDATE companies SET name_folded = $1 WHERE id = $2", folded, c.id); err != nil {
			return err
		}
	}
	var machines []string
	err = each(ctx, tx, "SELECT DISTINCT machine FROM activations WHERE machine_folded IS NULL", func(sc app.Scanner) error {
		var m string
		err := sc.Scan(&m)
		machines = append(machines, m)
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range machines {
		if _, err := tx.Exec(ctx, "UPDATE activations SET machine_folded = $1 WHERE machine = $2 AND machine_folded IS NULL",
			licensing.FoldName(m), m); err != nil {
			return err
		}
	}
	return nil
}

// each calls row for every row of query.
func each(ctx context.Context, tx sqlq.Conn, query string, row func(app.Scanner) error) error {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
