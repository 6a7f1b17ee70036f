package cmd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/postgres"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// localStore is what both stores of the local backend offer: the services,
// what `serve` needs of them, and what `init` reports.
type localStore interface {
	httpapi.Backend
	Seed(ctx context.Context) (int, error)
	SchemaVersion(ctx context.Context) (int, error)
	Path() string
}

var (
	_ localStore = (*sqlite.Store)(nil)
	_ localStore = (*postgres.Store)(nil)
)

// openStore opens the configured store: a postgres:// or postgresql:// URL
// in --db selects PostgreSQL, anything else is a SQLite file (the default).
// create makes the store when it does not exist yet.
func openStore(ctx context.Context, f *Factory, create bool) (localStore, error) {
	if create && !postgres.IsURL(f.cfg.DB) {
		if err := storeDir(f.cfg.DB); err != nil {
			return nil, err
		}
	}
	if postgres.IsURL(f.cfg.DB) {
		s, err := postgres.Open(ctx, f.cfg.DB, postgres.Options{Create: create, Clock: f.Clock})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, f.cfg.DB, sqlite.Options{Create: create, Clock: f.Clock})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// backendName names the configured backend for messages: http, or the kind
// of local store.
func (f *Factory) backendName() string {
	switch {
	case f.cfg.Backend != "local":
		return f.cfg.Backend
	case postgres.IsURL(f.cfg.DB):
		return "PostgreSQL"
	}
	return "SQLite"
}

// storeDir readies the directory of a SQLite store about to be created: the
// default data directory is made (0700) if need be; the directory of any
// other --db must exist already, so a mistyped path creates nothing.
func storeDir(db string) error {
	abs, err := filepath.Abs(db)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	if def, err := filepath.Abs(defaultDBPath()); err == nil && def == abs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return licensing.Errorf(licensing.EINVALID, "cannot create the data directory %s: %v", dir, unwrapPathError(err))
		}
		return nil
	}
	shown := filepath.Dir(db)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return licensing.Errorf(licensing.EINVALID, "directory %s of the store %s does not exist", shown, db).
			WithHint("create it with `mkdir -p %s`, or pass another --db", shown)
	case err != nil:
		return licensing.Errorf(licensing.EINVALID, "directory %s of the store %s: %v", shown, db, unwrapPathError(err))
	case !fi.IsDir():
		return licensing.Errorf(licensing.EINVALID, "%s is not a directory, so the store %s cannot be made there", shown, db)
	}
	return nil
}
