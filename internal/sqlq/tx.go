package sqlq

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Conn is one transaction of a store as the SQL written once here runs it.
// Queries use $n placeholders: PostgreSQL's, which SQLite reads as ?n.
type Conn interface {
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) app.Scanner
	// Exec runs a statement and answers how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// NoRows reports whether err is the driver's answer to a QueryRow
	// that found no row.
	NoRows(err error) bool
}

// Rows are a query's result rows.
type Rows interface {
	app.Rows
	Close()
}

// Dialect is what the two stores' SQL differs by, where it is used below.
type Dialect struct {
	// PlanOrder lists maintenance plans oldest first, with a tie-break for
	// plans made in the same second.
	PlanOrder string
	// RowLocks: the dialect has SELECT ... FOR UPDATE.
	RowLocks bool
	// AnalyzeBursts: the planner needs fresh statistics after a burst of
	// inserts (PostgreSQL, until autovacuum analyzes the table, plans the
	// webhook claim as if its table were empty: a full scan per claim).
	AnalyzeBursts bool
	// LicenseColumns select a license over LicenseFrom, as LicenseScanner's
	// scanners read it (extra columns after it go to extra).
	LicenseColumns string
	// LicenseScanner makes a scanner of license rows; one scanner may keep
	// its buffers from row to row.
	LicenseScanner func() func(sc app.Scanner, extra ...any) (*licensing.License, error)
	// ListSQL renders the license list's query and its arguments.
	ListSQL func(q *app.LicenseQuery) (string, []any, error)
	// LicenseConds are the SQL of app.LicenseQuery's conditions
	// (LicenseConds with the dialect's boolean test and LIKE).
	LicenseConds []string
}

// Tx implements the parts of app.Tx whose SQL both dialects speak; a store's
// transaction embeds it over its own Conn and adds the rest.
type Tx struct {
	c Conn
	d Dialect
}

// NewTx is a Tx running its SQL on c.
func NewTx(c Conn, d Dialect) Tx { return Tx{c: c, d: d} }

func (t Tx) query(ctx context.Context, query string, args ...any) (Rows, error) {
	return t.c.Query(ctx, query, args...)
}

func (t Tx) queryRow(ctx context.Context, query string, args ...any) app.Scanner {
	return t.c.QueryRow(ctx, query, args...)
}

func (t Tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return t.c.Exec(ctx, query, args...)
}

// one scans a single row with scan; no row is (nil, nil).
func one[T any](t Tx, row app.Scanner, scan func(app.Scanner) (*T, error)) (*T, error) {
	v, err := scan(row)
	if err != nil && t.c.NoRows(err) {
		return nil, nil
	}
	return v, err
}

// all scans every row with scan.
func all[T any](rows Rows, err error, scan func(app.Scanner) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return app.Collect(rows, scan)
}

// affected reports whether a statement changed exactly one row.
func affected(n int64, err error) (bool, error) {
	return err == nil && n == 1, err
}

// nullString is NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes is NULL for an empty slice.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nullID is NULL for 0.
func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// mark is the n-th placeholder.
func mark(n int) string { return "$" + strconv.Itoa(n) }

// lock is clause ("FOR UPDATE OF l") when lock asks for row locks and the
// dialect has them; SQLite's one writer holds the whole store already.
func (t Tx) lock(lock app.Lock, clause string) string {
	if lock == app.ForUpdate && t.d.RowLocks {
		return clause
	}
	return ""
}

// unixOrNull is a time's unix seconds, or NULL for nil.
func unixOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

// insertRows runs insert ("INSERT INTO t (cols) VALUES ") for rows, 200 a
// statement, each row's values from values, then tail (an ON CONFLICT
// clause, or "").
func insertRows[T any](ctx context.Context, t Tx, insert, tail string, rows []T, values func(T) []any) error {
	for start := 0; start < len(rows); start += 200 {
		var b strings.Builder
		b.WriteString(insert)
		var args []any
		for i, r := range rows[start:min(start+200, len(rows))] {
			if i > 0 {
				b.WriteString(", ")
			}
			v := values(r)
			b.WriteString("(" + idList(len(args)+1, len(v)) + ")")
			args = append(args, v...)
		}
		if _, err := t.exec(ctx, b.String()+tail, args...); err != nil {
			return err
		}
	}
	return nil
}
