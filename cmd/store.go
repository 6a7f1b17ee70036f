package cmd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	stripepay "github.com/licensectl/licensectl/internal/payment/stripe"
	"github.com/licensectl/licensectl/internal/postgres"
	"github.com/licensectl/licensectl/internal/sqlite"
	"github.com/licensectl/licensectl/internal/webhook"
)

// storeHandle is what both stores of the local backend offer besides the
// port: what `init` and `migrate` report.
type storeHandle interface {
	app.Backend
	SchemaVersion(ctx context.Context) (int, error)
	Path() string
}

var (
	_ storeHandle = (*sqlite.Store)(nil)
	_ storeHandle = (*postgres.Store)(nil)
)

// localStore is the local backend: the use cases over the opened store.
type localStore struct {
	*app.App
	h storeHandle
}

var _ httpapi.Backend = localStore{}

func (s localStore) SchemaVersion(ctx context.Context) (int, error) { return s.h.SchemaVersion(ctx) }
func (s localStore) Path() string                                   { return s.h.Path() }

// openStore opens the configured store: a postgres:// or postgresql:// URL
// in --db selects PostgreSQL, anything else is a SQLite file (the default).
// create makes the store when it does not exist yet.
func openStore(ctx context.Context, f *Factory, create bool) (localStore, error) {
	return openObservedStore(ctx, f, create, nil)
}

// openObservedStore is openStore with the use cases reporting to obs (nil:
// to no one).
func openObservedStore(ctx context.Context, f *Factory, create bool, obs app.Observer) (localStore, error) {
	if create && !postgres.IsURL(f.cfg.DB) {
		if err := storeDir(f.cfg.DB); err != nil {
			return localStore{}, err
		}
	}
	var (
		h   storeHandle
		err error
	)
	if postgres.IsURL(f.cfg.DB) {
		h, err = postgres.Open(ctx, f.cfg.DB, postgres.Options{Create: create, Clock: f.Clock})
	} else {
		h, err = sqlite.Open(ctx, f.cfg.DB, sqlite.Options{Create: create, Clock: f.Clock})
	}
	if err != nil {
		return localStore{}, err
	}
	// Receipts go out with the configured mail, when there is one; a mail
	// setting that does not work fails attach with its reason, never a
	// purchase.
	mailer, _ := f.mailer()
	pay, err := f.payments()
	if err != nil {
		h.Close()
		return localStore{}, err
	}
	return localStore{App: app.New(h, app.Options{Clock: f.Clock, Observer: obs, Mailer: mailer,
		Seller: f.cfg.Money.Seller, RefundWindow: f.cfg.Money.RefundWindow, Payments: pay, Grace: f.cfg.Money.Grace,
		Artifacts: f.cfg.Artifacts, Webhooks: webhook.NewSender(webhook.Options{Timeout: f.cfg.Webhooks.Timeout,
			AllowPrivate: f.cfg.Webhooks.AllowPrivate})}), h: h}, nil
}

// payments builds the configured payment provider; nil for none.
func (f *Factory) payments() (app.Payments, error) {
	m := f.cfg.Money
	if m.Provider != licensing.ProviderStripe {
		return nil, nil
	}
	return stripepay.New(stripepay.Config{SecretKey: m.Stripe.SecretKey, WebhookSecret: m.Stripe.WebhookSecret,
		APIBase: m.Stripe.APIBase, SuccessURL: m.Stripe.SuccessURL})
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
