package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// holdWriteLock takes the store's write lock from a connection of its own, as
// another process writing would, until the returned function is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			tx.Rollback()
			db.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// A write that cannot get the lock within the store's lock wait fails with
// "the store is busy", a temporary failure (exit 75, HTTP 503) with a hint,
// never SQLite's "database is locked (5) (SQLITE_BUSY)"; once the lock is
// free the same write succeeds.
func TestBusyStoreIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	s, err := Open(ctx, path, Options{Create: true, LockWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := holdWriteLock(t, path)

	start := time.Now()
	_, err = services(s).CreateAccount(ctx, "a@example.com")
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("gave up after %v, want the lock wait (300ms)", waited)
	}
	if licensing.ErrorCode(err) != licensing.EUNAVAILABLE || !licensing.Temporary(err) {
		t.Fatalf("err = %v (code %q), want %s", err, licensing.ErrorCode(err), licensing.EUNAVAILABLE)
	}
	if msg := licensing.ErrorMessage(err); !strings.HasPrefix(msg, "the store is busy") || strings.Contains(msg, "SQLITE") || strings.Contains(msg, path) {
		t.Errorf("message = %q", msg)
	}
	if hint := licensing.ErrorHint(err); !strings.Contains(hint, "try again") {
		t.Errorf("hint = %q", hint)
	}

	release()
	if _, err := services(s).CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatalf("after the lock is free: %v", err)
	}
}

// A writer waits for a lock held longer than SQLite's usual few seconds
// (here 1.5 s against a 5 s lock wait) and then writes.
func TestWriterWaitsForTheLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	s, err := Open(ctx, path, Options{Create: true, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := holdWriteLock(t, path)
	time.AfterFunc(1500*time.Millisecond, release)
	if _, err := services(s).CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatalf("waiting writer: %v", err)
	}
}
