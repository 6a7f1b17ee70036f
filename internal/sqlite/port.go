package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

var _ app.Backend = (*Store)(nil)

// Write implements app.Store: fn runs once, in one BEGIN IMMEDIATE
// transaction on the writer connection, whose statements come from the
// statement cache.
func (s *Store) Write(ctx context.Context, fn func(app.Tx) error) error {
	var wt *tx
	err := s.write(ctx, func(t *sql.Tx) error {
		wt = s.newTx(t, s.w)
		return fn(wt)
	})
	if wt != nil && len(wt.unprepared) > 0 {
		s.prepareLater(s.w, wt.unprepared)
	}
	return err
}

// prepareLater prepares queries on db for the next transactions, in the
// background: preparing needs the writer's one connection, which the next
// write may hold for seconds (a large purchase), and a request must not
// wait for it.
func (s *Store) prepareLater(db *sql.DB, queries []string) {
	var claimed []string
	for _, q := range queries {
		if s.stmts.claim(db, q) {
			claimed = append(claimed, q)
		}
	}
	if len(claimed) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.wait)
		defer cancel()
		for _, q := range claimed {
			s.stmts.get(ctx, db, q) // best effort: on failure it runs unprepared
		}
	}()
}

// Read implements app.Store: fn runs in a deferred transaction on the read
// pool - one snapshot that never waits for the writer - whose queries go
// through the statement cache.
func (s *Store) Read(ctx context.Context, fn func(app.Tx) error) error {
	t, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return s.explain(err)
	}
	defer t.Rollback() // should fn panic
	rt := s.newTx(t, s.r)
	err = fn(rt)
	t.Rollback()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return s.explain(err)
	}
	// The connection is free again: prepare what ran unprepared, for the
	// next transaction (best effort).
	for _, q := range rt.unprepared {
		s.stmts.get(ctx, s.r, q)
	}
	return nil
}

// ReadOne implements app.Store: fn's one statement runs on the read pool
// outside a transaction, through the statement cache.
func (s *Store) ReadOne(ctx context.Context, fn func(app.Tx) error) error {
	err := fn(s.newTx(nil, s.r))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return s.explain(err)
	}
	return nil
}

// tx is one transaction of the store: it implements app.Tx with SQL, the
// part both dialects speak in sqlq.Tx over its Conn methods below.
type tx struct {
	sqlq.Tx
	s  *Store
	tx *sql.Tx
	// db is the pool of tx, whose statements come from the cache; nil
	// for none (a migration's transaction).
	db *sql.DB
	// unprepared are the queries the cache did not have yet.
	unprepared []string
	// statements counts the statements of a ReadOne (tx nil).
	statements int
}

// one counts a statement of a ReadOne, which may run one only.
func (t *tx) one() error {
	if t.statements++; t.statements > 1 {
		return app.ErrOneStatement
	}
	return nil
}

var _ app.Tx = (*tx)(nil)

func (s *Store) newTx(t *sql.Tx, db *sql.DB) *tx {
	x := &tx{s: s, tx: t, db: db}
	x.Tx = sqlq.NewTx(x, sqlq.Dialect{PlanOrder: planOrder, LicenseColumns: licenseRow,
		LicenseScanner: licenseScanner, ListSQL: listSQL, LicenseConds: licenseConds[:]})
	return x
}

// Query implements sqlq.Conn.
func (t *tx) Query(ctx context.Context, query string, args ...any) (sqlq.Rows, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// sqlRows are database/sql's rows as sqlq.Rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// QueryRow implements sqlq.Conn.
func (t *tx) QueryRow(ctx context.Context, query string, args ...any) app.Scanner {
	if t.tx == nil && t.statements > 0 { // a second statement in a ReadOne
		return errRow{app.ErrOneStatement}
	}
	return t.queryRow(ctx, query, args...)
}

// errRow is a row that fails to scan with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Exec implements sqlq.Conn.
func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// NoRows implements sqlq.Conn.
func (*tx) NoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func (t *tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.db == nil {
		return nil
	}
	// Only a statement prepared already: preparing one takes another
	// connection of the pool, which every one of its connections (the
	// writer's only one), held by transactions that want to prepare, would
	// wait for forever. Read and Write prepare it when the transaction is
	// over.
	st, done := t.s.stmts.lookup(t.db, query)
	if st == nil {
		if !done {
			t.unprepared = append(t.unprepared, query)
		}
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.tx == nil { // ReadOne
		if err := t.one(); err != nil {
			return nil, err
		}
		if st, _ := t.s.stmts.get(ctx, t.s.r, query); st != nil {
			return st.QueryContext(ctx, args...)
		}
		return t.s.r.QueryContext(ctx, query, args...)
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if t.tx == nil { // ReadOne; QueryRow answers a second statement, so only
		// the store's own look-ups can get here with one: a *sql.Row
		// cannot carry ErrOneStatement.
		if t.one() != nil {
			panic(app.ErrOneStatement)
		}
		if st, _ := t.s.stmts.get(ctx, t.s.r, query); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
		return t.s.r.QueryRowContext(ctx, query, args...)
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.tx == nil {
		return nil, errors.New("a ReadOne cannot write")
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// affected reports whether a statement changed exactly one row.
func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// InsertAudit implements app.AuditTx.
func (t *tx) InsertAudit(ctx context.Context, rows ...app.AuditRow) error {
	for _, r := range rows {
		var acct, onBehalf any
		if r.AccountID != 0 {
			acct = r.AccountID
		}
		if r.OnBehalfOf != "" {
			onBehalf = r.OnBehalfOf
		}
		if _, err := t.exec(ctx, `INSERT INTO audit (account_id, time, actor, on_behalf_of, action, object, details)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, acct, r.Time.Unix(), r.Actor, onBehalf, r.Action, r.Object, string(r.Details)); err != nil {
			return err
		}
	}
	return nil
}

// Company implements app.AccountTx.
func (t *tx) Company(ctx context.Context, acct int64, name string) (int64, string, error) {
	var id int64
	var stored string
	err := t.queryRow(ctx, `SELECT id, name FROM companies WHERE account_id = ?1 AND (name_folded = ?2 OR name = ?3)
		ORDER BY name = ?3 COLLATE BINARY DESC, id LIMIT 1`, acct, licensing.FoldName(name), name).Scan(&id, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return id, stored, err
}
