package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"

	sqlitedriver "modernc.org/sqlite"
)

// queryer is what *sql.DB and *sql.Tx have in common, so that the rules that
// read (pricing, look-ups) run the same inside a write transaction and outside.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in one write transaction (BEGIN IMMEDIATE, from the DSN):
// taking the write lock up front means a transaction never fails half-way
// because another writer got there first.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.explain(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		if cerr := ctx.Err(); cerr != nil {
			// database/sql rolls back on cancellation by itself; its
			// "transaction has already been rolled back" would hide why.
			return cerr
		}
		return s.explain(err)
	}
	return s.explain(tx.Commit())
}

// explain is the one place that translates SQLite's failures for users: a
// store busy past the lock wait is a temporary failure (EUNAVAILABLE, exit
// 75, HTTP 503), and the storage failures a user can fix (a read-only store,
// a full disk) get a message that names the store and a hint. The
// transaction was rolled back, so it also says nothing changed. Other errors
// pass unchanged.
func (s *Store) explain(err error) error {
	var se *sqlitedriver.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	detail := strings.Join(strings.Fields(err.Error()), " ")
	switch se.Code() & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out
		return &licensing.Error{Code: licensing.EUNAVAILABLE,
			Message: fmt.Sprintf("the store is busy: another process held its write lock for more than %gs", s.wait.Seconds()),
			Hint:    "nothing was changed; another licensectl is writing to the store (perhaps a large purchase): try again when it has finished"}
	case 8, 14: // SQLITE_READONLY, SQLITE_CANTOPEN
		return &licensing.Error{Code: licensing.EINTERNAL,
			Message: fmt.Sprintf("cannot write the store %s: %s", s.path, detail),
			Remote:  "the server cannot write its store: " + detail, // no path for API clients
			Hint:    "nothing was changed; check that the file and its directory are writable (SQLite creates -wal and -shm files beside it)"}
	case 10, 13: // SQLITE_IOERR, SQLITE_FULL
		return &licensing.Error{Code: licensing.EINTERNAL,
			Message: fmt.Sprintf("cannot write the store %s: %s", s.path, detail),
			Remote:  "the server cannot write its store: " + detail,
			Hint:    "nothing was changed; check free disk space and file size limits"}
	}
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
