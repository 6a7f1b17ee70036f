package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	sqlitedriver "modernc.org/sqlite"

	"github.com/licensectl/licensectl/internal/licensing"
)

// BackupResult says what a backup wrote.
type BackupResult struct {
	Path  string `json:"path"`
	Store string `json:"store"`
	Bytes int64  `json:"bytes"`
}

// Backup writes a consistent copy of the store to dst with VACUUM INTO: one
// read transaction, so writers in other processes go on and the copy holds
// exactly the commits made before it began. The copy is built in a 0600
// temporary file beside dst and published only when complete, so dst is
// never half-written; an existing dst is refused unless force.
func (s *Store) Backup(ctx context.Context, dst string, force bool) (*BackupResult, error) {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return nil, err
	}
	if err := refuseExisting(abs, dst, force); err != nil {
		return nil, err
	}
	if same, err := sameFile(abs, s.path); err != nil || same {
		if err == nil {
			err = licensing.Errorf(licensing.EINVALID, "%s is the store itself", dst).WithHint("back up to another file")
		}
		return nil, err
	}
	tmp, err := tempBeside(abs)
	if err != nil {
		return nil, err
	}
	defer removeWithSidecars(tmp)
	// A connection of its own: the store's read pool is query_only (which
	// VACUUM INTO's output counts against), and the writer must stay free.
	storeAbs, err := filepath.Abs(s.path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(storeAbs, "_pragma=busy_timeout(10000)"))
	if err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", tmp)
	if err = errors.Join(err, db.Close()); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("back up to %s: %w", dst, err)
	}
	if err := syncFile(tmp); err != nil {
		return nil, err
	}
	if err := publish(tmp, abs, force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, existsError(dst)
		}
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	return &BackupResult{Path: dst, Store: s.path, Bytes: fi.Size()}, nil
}

// RestoreResult says what a restore replaced.
type RestoreResult struct {
	Store         string `json:"store"`
	From          string `json:"from"`
	SchemaVersion int    `json:"schema_version"`
	Purchases     int    `json:"purchases"`
	Licenses      int    `json:"licenses"`
}

// Restore replaces the store at storePath with the backup at src. The backup
// must be a licensectl store that passes PRAGMA integrity_check and
// foreign_key_check; it is copied first (src is never opened by SQLite, so
// it is left exactly as it was), checked and migrated to this binary's
// schema, then swapped in with a rename. The swap happens while this process
// holds the only connection to the old store in exclusive mode: a store that
// any other process has open (a running serve, a bulk buy) is refused, and
// the old store's WAL is folded back before the rename so no stale WAL can
// ever be replayed onto the restored file.
func Restore(ctx context.Context, src, storePath string, clock licensing.Clock) (*RestoreResult, error) {
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	srcAbs, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	storeAbs, err := filepath.Abs(storePath)
	if err != nil {
		return nil, err
	}
	if exists, err := checkFile(srcAbs, src); err != nil {
		return nil, err
	} else if !exists {
		return nil, licensing.Errorf(licensing.ENOTFOUND, "no licensectl backup at %s", src)
	}
	if same, err := sameFile(srcAbs, storeAbs); err != nil || same {
		if err == nil {
			err = licensing.Errorf(licensing.EINVALID, "%s is the store itself", src)
		}
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(storeAbs), 0o700); err != nil {
		return nil, err
	}
	tmp, err := tempBeside(storeAbs)
	if err != nil {
		return nil, err
	}
	defer removeWithSidecars(tmp)
	if err := copyFile(srcAbs, tmp); err != nil {
		return nil, err
	}
	res, err := verifyCopy(ctx, tmp, src, clock)
	if err != nil {
		return nil, err
	}
	res.Store, res.From = storePath, src

	old, err := lockForSwap(ctx, storeAbs, storePath)
	if err != nil {
		return nil, err
	}
	if old != nil {
		defer old.Close()
	}
	if err := os.Rename(tmp, storeAbs); err != nil {
		return nil, err
	}
	return res, nil
}

// verifyCopy checks the copied backup at tmp, brings it to this binary's
// schema and leaves it in WAL mode, like a store made by init.
func verifyCopy(ctx context.Context, tmp, src string, clock licensing.Clock) (*RestoreResult, error) {
	db, err := sql.Open("sqlite", dsn(tmp, "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	damaged := func(what string) error {
		return licensing.Errorf(licensing.EINVALID, "%s is damaged (%s): nothing was restored", src, what).
			WithHint("pick another backup")
	}
	var integrity string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&integrity); err != nil {
		return nil, damaged(oneLine(err))
	} else if integrity != "ok" {
		return nil, damaged("integrity_check: " + integrity)
	}
	rows, err := db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, damaged(oneLine(err))
	}
	broken := rows.Next()
	rows.Close()
	if broken {
		return nil, damaged("foreign_key_check found dangling references")
	}
	if err := migrate(ctx, db, clock); err != nil {
		return nil, err
	}
	res := &RestoreResult{}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),
		(SELECT count(*) FROM purchases), (SELECT count(*) FROM licenses)`).Scan(&res.SchemaVersion, &res.Purchases, &res.Licenses); err != nil {
		return nil, damaged(oneLine(err))
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		return nil, err
	}
	return res, db.Close()
}

// lockForSwap takes the current store (if any) for exclusive use: it must be
// a licensectl store, and no other connection may have it open. Switching it
// out of WAL mode needs exactly that, and also checkpoints and removes its
// WAL. The returned connection holds the lock until the caller has renamed
// the new file into place.
func lockForSwap(ctx context.Context, abs, path string) (*sql.DB, error) {
	exists, err := checkFile(abs, path)
	if err != nil || !exists {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(abs, "_pragma=busy_timeout(2000)&_pragma=locking_mode(EXCLUSIVE)"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	var mode string
	err = db.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode)
	if err == nil {
		// Holds the exclusive lock from here on, in any journal mode.
		_, err = db.ExecContext(ctx, "BEGIN EXCLUSIVE; COMMIT")
	}
	// SQLite answers "wal" rather than an error when others keep it in WAL.
	if err != nil || mode != "delete" {
		db.Close()
		if err == nil || isBusy(err) {
			return nil, licensing.Errorf(licensing.ECONFLICT, "%s is in use by another process: nothing was restored", path).
				WithHint("stop `licensectl serve` and other licensectl commands on this store, then retry")
		}
		return nil, err
	}
	return db, nil
}

// isBusy tells SQLITE_BUSY and SQLITE_LOCKED (another connection holds the
// lock) from real failures.
func isBusy(err error) bool {
	var se *sqlitedriver.Error
	return errors.As(err, &se) && (se.Code()&0xff == 5 || se.Code()&0xff == 6)
}

func existsError(path string) error {
	return licensing.Errorf(licensing.ECONFLICT, "%s already exists", path).
		WithHint("pass --force to overwrite it, or pick another file")
}

// refuseExisting answers dst's state before the (possibly long) copy: a
// directory is never a backup file, an existing file needs force.
func refuseExisting(abs, dst string, force bool) error {
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return licensing.Errorf(licensing.EINVALID, "%s is a directory", dst).WithHint("name the backup file, e.g. %s", filepath.Join(dst, "licensectl.db"))
	case !fi.Mode().IsRegular():
		return licensing.Errorf(licensing.EINVALID, "%s is not a regular file", dst)
	case !force:
		return existsError(dst)
	}
	return nil
}

// sameFile tells whether a and b name the same existing file.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// tempBeside makes an empty 0600 file in abs's directory, on the same file
// system so it can be renamed over abs. VACUUM INTO accepts an empty file
// and keeps its mode.
func tempBeside(abs string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".*.tmp")
	if err != nil {
		return "", err
	}
	name := f.Name()
	return name, errors.Join(f.Chmod(0o600), f.Close())
}

func removeWithSidecars(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// publish moves the finished tmp to abs: with a hard link when abs must not
// be overwritten (the link fails if abs appeared meanwhile), else a rename.
func publish(tmp, abs string, force bool) error {
	if force {
		return os.Rename(tmp, abs)
	}
	if err := os.Link(tmp, abs); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// A file system without hard links: check, then rename.
		if _, serr := os.Lstat(abs); serr == nil {
			return fs.ErrExist
		}
		return os.Rename(tmp, abs)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Sync(), out.Close())
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
