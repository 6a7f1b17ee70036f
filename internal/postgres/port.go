package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

var _ app.Backend = (*Store)(nil)

// Write implements app.Store: fn runs in a SERIALIZABLE transaction, again
// when it lost a race (see write).
func (s *Store) Write(ctx context.Context, fn func(app.Tx) error) error {
	return s.write(ctx, func(t pgx.Tx) error {
		x := newTx(t)
		if err := fn(x); err != nil {
			return err
		}
		return x.flushEvents(ctx)
	})
}

// eventsLock is the transaction-level advisory lock that orders the
// outbox's commits.
const eventsLock = 0x6c6374657674 // "lctevt"

// InsertEvents implements app.EventTx: the events wait for the end of the
// transaction (flushEvents).
func (t *tx) InsertEvents(_ context.Context, rows []app.EventRow) error {
	t.events = append(t.events, rows...)
	return nil
}

// flushEvents writes the transaction's events last, under eventsLock,
// which the commit releases: so event ids are taken in commit order. An
// identity value is taken at insert time, and without the lock a
// transaction could commit id 106 while 105's was still open; the webhook
// dispatcher, seeing 106, would move its cursor past 105 for good. With it,
// an id the dispatcher sees means every lower one has committed or rolled
// back. The lock is held from the insert to the commit only.
func (t *tx) flushEvents(ctx context.Context) error {
	if len(t.events) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(eventsLock)); err != nil {
		return err
	}
	rows := t.events
	t.events = nil
	return t.Tx.InsertEvents(ctx, rows)
}

// Read implements app.Store: fn runs in a read-only REPEATABLE READ
// transaction, one snapshot of the store.
func (s *Store) Read(ctx context.Context, fn func(app.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(t pgx.Tx) error { return fn(newTx(t)) })
}

// tx is one transaction of the store: it implements app.Tx with SQL, the
// part both dialects speak in sqlq.Tx over its Conn methods below.
type tx struct {
	sqlq.Tx
	tx pgx.Tx
	q  querier // tx, or the pool for a ReadOne
	// events wait to be written at the end of a Write (flushEvents).
	events []app.EventRow
}

// querier is what pgx.Tx and the pool have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// ReadOne implements app.Store: fn's one statement runs on the pool, outside
// a transaction.
func (s *Store) ReadOne(ctx context.Context, fn func(app.Tx) error) error {
	x := newTx(nil)
	x.q = &oneStatement{q: s.pool}
	return fn(x)
}

// oneStatement runs the first statement on q and refuses any other.
type oneStatement struct {
	q querier
	n int
}

func (o *oneStatement) next() error {
	if o.n++; o.n > 1 {
		return app.ErrOneStatement
	}
	return nil
}

func (o *oneStatement) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := o.next(); err != nil {
		return nil, err
	}
	return o.q.Query(ctx, sql, args...)
}

func (o *oneStatement) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := o.next(); err != nil {
		return errRow{err}
	}
	return o.q.QueryRow(ctx, sql, args...)
}

func (o *oneStatement) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errors.New("a ReadOne cannot write")
}

// errRow is a row that fails to scan with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func newTx(t pgx.Tx) *tx {
	x := &tx{tx: t, q: t}
	x.Tx = sqlq.NewTx(x, sqlq.Dialect{PlanOrder: planOrder, RowLocks: true, AnalyzeBursts: true, LicenseColumns: licenseColumns,
		LicenseScanner: func() func(app.Scanner, ...any) (*licensing.License, error) { return scanLicense },
		ListSQL:        listSQL, LicenseConds: licenseConds[:]})
	return x
}

// Query implements sqlq.Conn.
func (t *tx) Query(ctx context.Context, query string, args ...any) (sqlq.Rows, error) {
	return t.q.Query(ctx, query, args...)
}

// QueryRow implements sqlq.Conn.
func (t *tx) QueryRow(ctx context.Context, query string, args ...any) app.Scanner {
	return t.q.QueryRow(ctx, query, args...)
}

// Exec implements sqlq.Conn.
func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// NoRows implements sqlq.Conn.
func (*tx) NoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

var _ app.Tx = (*tx)(nil)

func (t *tx) queryRow(ctx context.Context, query string, args ...any) pgx.Row {
	return t.q.QueryRow(ctx, query, args...)
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	return t.q.Exec(ctx, query, args...)
}

// InsertAudit implements app.AuditTx; several rows go in one batch.
func (t *tx) InsertAudit(ctx context.Context, rows ...app.AuditRow) error {
	const insert = `INSERT INTO audit (account_id, time, actor, on_behalf_of, action, object, details) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	b := &pgx.Batch{}
	for _, r := range rows {
		var acct any
		if r.AccountID != 0 {
			acct = r.AccountID
		}
		var onBehalf any
		if r.OnBehalfOf != "" {
			onBehalf = r.OnBehalfOf
		}
		args := []any{acct, r.Time.Unix(), r.Actor, onBehalf, r.Action, r.Object, string(r.Details)}
		if len(rows) == 1 {
			_, err := t.exec(ctx, insert, args...)
			return err
		}
		b.Queue(insert, args...)
	}
	return t.sendBatch(ctx, b)
}

// Company implements app.AccountTx.
func (t *tx) Company(ctx context.Context, acct int64, name string) (int64, string, error) {
	var id int64
	var stored string
	err := t.queryRow(ctx, `SELECT id, name FROM companies WHERE account_id = $1 AND (name_folded = $2 OR name = $3)
		ORDER BY name = $3 DESC, id LIMIT 1`, acct, licensing.FoldName(name), name).Scan(&id, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	return id, stored, err
}
