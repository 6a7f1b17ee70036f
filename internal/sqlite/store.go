// Package sqlite implements the licensing services on an embedded SQLite
// database (modernc.org/sqlite, pure Go): one file, WAL mode, one writer
// connection whose transactions start with BEGIN IMMEDIATE, and a small pool
// of read-only connections that never wait for the writer.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"

	sqlitedriver "modernc.org/sqlite" // registers the "sqlite" driver
)

// ApplicationID marks a SQLite file as a licensectl store (PRAGMA
// application_id, "LCTC"), so another program's database is refused before
// anything writes to it.
const ApplicationID = 0x4C435443

const sqliteMagic = "SQLite format 3\x00"

// Options tune Open.
type Options struct {
	// Create makes the store when it does not exist; its directory must exist.
	Create bool
	// Clock tells the time; nil means licensing.SystemClock.
	Clock licensing.Clock
	// LockWait is how long a write waits for another process's write lock
	// before it fails with "the store is busy"; zero means DefaultLockWait.
	LockWait time.Duration
}

// DefaultLockWait is how long a write waits for the write lock. One writer
// holds it at a time, for as long as its transaction runs: a purchase of
// 20,000 licenses holds it for about a second, and writers that queue behind
// each other each wait for all those before them (SQLite's waiters are not
// served in order), so this allows for dozens of large purchases at once.
// A command waiting is interrupted by Ctrl-C; a server request ends its wait
// when its client goes away.
const DefaultLockWait = time.Minute

// readLockWait bounds a read's wait: in WAL mode a reader never waits for a
// writer, only for the brief exclusive locks of a restore or WAL recovery.
const readLockWait = 10 * time.Second

// Store is a licensectl store in one SQLite file. It implements
// licensing.Services and is safe for concurrent use.
type Store struct {
	path  string
	wait  time.Duration // the writer's busy timeout
	w     *sql.DB       // one connection: SQLite has one writer at a time anyway
	r     *sql.DB       // read-only connections
	clock licensing.Clock
	stmts stmtCache   // prepared statements of both pools
	group groupCommit // activations' writes, committed together
}

// Open opens the store at path, creating it when opt.Create is set, and
// migrates it to the schema this binary knows.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	clock := opt.Clock
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	exists, err := checkFile(abs, path)
	if err != nil {
		return nil, err
	}
	if !exists {
		if !opt.Create {
			return nil, licensing.Errorf(licensing.ENOTFOUND, "no licensectl store at %s", path).
				WithHint("run `licensectl init` to create it (or pass --db PATH)")
		}
		if err := create(ctx, abs, clock); err != nil {
			return nil, fmt.Errorf("create store %s: %w", path, err)
		}
		// Another process may have published its store first; check whatever is there now.
		if exists, err = checkFile(abs, path); err != nil {
			return nil, err
		} else if !exists {
			return nil, fmt.Errorf("create store %s: the file vanished", path)
		}
	}

	wait := opt.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	// The busy timeout applies to every lock the writer waits for: BEGIN
	// IMMEDIATE (the write lock) and, should the store not be in WAL mode, a
	// COMMIT. The checkpoint that follows a commit is passive (it never waits
	// nor fails the commit), and the last connection's checkpoint at Close
	// runs only when no other process has the store open.
	w, err := sql.Open("sqlite", dsn(abs, fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_txlock=immediate", wait.Milliseconds())))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	r, err := sql.Open("sqlite", dsn(abs, fmt.Sprintf("_pragma=busy_timeout(%d)&_query_only=1", readLockWait.Milliseconds())))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s := &Store{path: path, wait: wait, w: w, r: r, clock: clock}
	// Another process may be migrating the same store: the writer waits
	// for it like for any write, and then finds nothing left to do.
	if err := migrate(ctx, w, clock); err != nil {
		s.Close()
		if e := explainOpen(path, err); e != err {
			return nil, e
		}
		return nil, s.explain(err)
	}
	return s, nil
}

// explainOpen names the storage failure that keeps a store from opening: on
// a full disk SQLite cannot even read, since WAL mode needs room for the
// -shm file ("disk I/O error (4874)", SQLITE_IOERR_SHMSIZE).
func explainOpen(path string, err error) error {
	var se *sqlitedriver.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case 10, 13: // SQLITE_IOERR, SQLITE_FULL
		return &licensing.Error{Code: licensing.EINTERNAL,
			Message: fmt.Sprintf("cannot open the store %s: the disk is full or failing (%s)", path, strings.Join(strings.Fields(se.Error()), " ")),
			Remote:  "the server cannot open its store: the disk is full or failing",
			Hint:    "free space on the disk that holds the store (SQLite needs room for its -wal and -shm files beside it), then try again"}
	}
	return err
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// Clock returns the clock the store was opened with.
func (s *Store) Clock() licensing.Clock { return s.clock }

// Close closes the store; the last connection checkpoints the WAL.
func (s *Store) Close() error {
	return errors.Join(s.stmts.close(), s.r.Close(), s.w.Close())
}

// checkFile tells whether path holds a licensectl store, reading only the
// SQLite header: opening another program's database with our DSN would switch
// it to WAL and so rewrite its header. An empty file counts as missing.
func checkFile(abs, path string) (bool, error) {
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case fi.IsDir():
		return false, licensing.Errorf(licensing.EINVALID, "%s is a directory, not a licensectl store", path)
	case !fi.Mode().IsRegular():
		return false, notAStore(path) // and opening a FIFO would block
	case fi.Size() == 0:
		return false, nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var hdr [100]byte
	if _, err := io.ReadFull(f, hdr[:]); errors.Is(err, io.ErrUnexpectedEOF) {
		return false, notAStore(path)
	} else if err != nil {
		return false, err
	}
	if !bytes.Equal(hdr[:16], []byte(sqliteMagic)) || binary.BigEndian.Uint32(hdr[68:72]) != ApplicationID {
		return false, notAStore(path)
	}
	return true, nil
}

func notAStore(path string) error {
	return licensing.Errorf(licensing.EINVALID, "%s is not a licensectl store", path)
}

// create builds a fresh store in a temporary file beside abs and publishes it
// with a hard link, which fails if abs appeared meanwhile. So a store is never
// seen half-migrated (a crash leaves only a temporary file), and processes that
// create the same store at once do not race on the switch to WAL.
func create(ctx context.Context, abs string, clock licensing.Clock) error {
	// The directory must exist: making whatever directories a mistyped --db
	// names is the caller's choice (the CLI makes only its default one).
	dir := filepath.Dir(abs)
	f, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
	}()

	db, err := sql.Open("sqlite", dsn(tmp, "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	err = migrate(ctx, db, clock)
	if err == nil {
		// Persisted in the header, so later opens find WAL already on.
		_, err = db.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	}
	if err = errors.Join(err, db.Close()); err != nil {
		return err
	}

	err = os.Link(tmp, abs)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(abs); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			return os.Rename(tmp, abs) // an empty file counts as missing: replace it
		}
		return nil // someone else's store won; Open checks it
	}
	if err != nil {
		return os.Rename(tmp, abs) // a file system without hard links
	}
	return nil
}

// dsn builds a driver DSN for the file at abs. SQLite decodes %HH in a file:
// URI, and the driver splits the DSN at the first '?', so those characters
// (and '#', '%', spaces and controls) are escaped in the path.
func dsn(abs, params string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:/C:/dir/store.db
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c == '?' || c == '#' || c == '%' || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteString("?")
	b.WriteString(params)
	return b.String()
}
