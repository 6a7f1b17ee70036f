package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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

// now is the clock's time in whole seconds, the precision the store keeps,
// so that what a method returns equals what a later read finds.
func (s *Store) now() time.Time {
	return s.clock.Now().UTC().Truncate(time.Second)
}

// actingAccount returns the id and email of the account in ctx.
func actingAccount(ctx context.Context, q queryer) (int64, string, error) {
	email, err := licensing.RequireAccount(ctx)
	if err != nil {
		return 0, "", err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	var id int64
	err = q.QueryRowContext(ctx, "SELECT id FROM accounts WHERE email = ?", email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", licensing.Errorf(licensing.EUNAUTHORIZED, "account %s does not exist", email).
			WithHint("create it with `licensectl accounts create %s`", email)
	}
	return id, email, err
}

// audit records an event in the caller's transaction, so that a change and
// its audit entry are committed together or not at all. accountID nil files
// the event outside any account.
func audit(ctx context.Context, tx *sql.Tx, accountID any, at time.Time, actor, action, object string, details any) error {
	js, err := json.Marshal(details)
	if err != nil {
		return err
	}
	actor = licensing.Actor(ctx, actor) // "EMAIL via api token lct_..." over the API
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (account_id, time, actor, action, object, details)
		VALUES (?, ?, ?, ?, ?, ?)`, accountID, at.Unix(), actor, action, object, string(js))
	return err
}

// companyID finds a company of the account by its folded name
// (licensing.FoldName); the exact name finds the companies that fold alike
// but were created before names were folded (see foldNames).
func companyID(ctx context.Context, q queryer, accountID int64, name string) (int64, error) {
	id, _, err := company(ctx, q, accountID, name)
	return id, err
}

// company is companyID with the company's name as stored.
func company(ctx context.Context, q queryer, accountID int64, name string) (int64, string, error) {
	var id int64
	var stored string
	err := q.QueryRowContext(ctx, `SELECT id, name FROM companies WHERE account_id = ?1 AND (name_folded = ?2 OR name = ?3)
		ORDER BY name = ?3 COLLATE BINARY DESC, id LIMIT 1`, accountID, licensing.FoldName(name), name).Scan(&id, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", licensing.Errorf(licensing.ENOTFOUND, "no company %q", name).
			WithHint("create it with `licensectl companies create %q`", name)
	}
	return id, stored, err
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newPurchaseID returns "P-" and 12 random Crockford base32 characters (60 bits).
func newPurchaseID() string {
	var raw [12]byte
	rand.Read(raw[:]) // never fails: crypto/rand panics rather than return an error
	b := []byte("P-000000000000")
	for i, r := range raw {
		b[2+i] = crockford[r&31]
	}
	return string(b)
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
