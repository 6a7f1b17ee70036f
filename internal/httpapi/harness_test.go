package httpapi

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// newServer starts a server on a fresh store and returns the store, the
// server's URL and a token source that acts as whichever account ctx names.
// Every request and response is checked against docs/openapi.yaml.
func newServer(t testing.TB, clock licensing.Clock, opt Options) (*app.App, *httptest.Server, func(context.Context) (string, error)) {
	t.Helper()
	return newObservedServer(t, clock, opt, nil)
}

// newObservedServer is newServer with the use cases reporting to obs.
func newObservedServer(t testing.TB, clock licensing.Clock, opt Options, obs app.Observer) (*app.App, *httptest.Server, func(context.Context) (string, error)) {
	t.Helper()
	ctx := context.Background()
	if opt.Mailer == nil {
		opt.Mailer = &mail.Outbox{Dir: filepath.Join(t.TempDir(), "outbox"), From: "licensectl@example.org", Clock: clock}
	}
	opt.Clock = clock
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	store := app.New(db, app.Options{Clock: clock, Observer: obs})
	if _, err := store.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openapicheck.LoadDoc(t).Wrap(t, NewServer(store, opt)))
	t.Cleanup(func() { srv.Close(); store.Close() })
	var mu sync.Mutex
	tokens := map[string]string{}
	tokenFor := func(ctx context.Context) (string, error) {
		email := licensing.AccountFrom(ctx)
		if email == "" {
			return "lct_none", nil
		}
		mu.Lock()
		defer mu.Unlock()
		if tok, ok := tokens[email]; ok {
			return tok, nil
		}
		tok, err := store.CreateToken(ctx, licensing.TokenRequest{})
		if err != nil {
			return "", err
		}
		tokens[email] = tok.Secret
		return tok.Secret, nil
	}
	return store, srv, tokenFor
}
