package cmd

import (
	"context"

	"github.com/licensectl/licensectl/internal/httpapi"
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
