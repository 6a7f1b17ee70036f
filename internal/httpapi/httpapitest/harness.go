// Package httpapitest puts a real licensectl server (on a loopback port) in
// front of a store, for the contract suite and other tests of the HTTP
// backend over any store.
package httpapitest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
)

// Store is what the harness needs of the store on the server host: the
// services over it (an *app.App).
type Store = httpapi.Backend

// Remote is the HTTP backend as the contract suite sees it: account-scoped
// calls go through the server with the acting account's token; operator
// actions, which the API refuses by design (creating accounts, importing
// products, every account's renewals, rotating the signing key), go to the
// store on the server host.
type Remote struct {
	*httpapi.Client
	Store  Store
	Outbox string // where the server's mailer leaves attach codes
}

// Start serves store on a loopback port for the test's lifetime and returns
// the client side. The server's mailer writes to an outbox directory. Every
// request and response is checked against docs/openapi.yaml: a mismatch
// fails the test.
func Start(t testing.TB, store Store, clock licensing.Clock, opt httpapi.Options) *Remote {
	t.Helper()
	return StartChecked(t, openapicheck.LoadDoc(t), store, clock, opt)
}

// StartChecked is Start with the document already loaded, for a suite that
// starts many servers.
func StartChecked(t testing.TB, spec *openapicheck.Spec, store Store, clock licensing.Clock, opt httpapi.Options) *Remote {
	t.Helper()
	outbox := filepath.Join(t.TempDir(), "outbox")
	if opt.Mailer == nil {
		opt.Mailer = &mail.Outbox{Dir: outbox, From: "licensectl@example.org", Clock: clock}
	}
	opt.Clock = clock
	srv := httptest.NewServer(spec.Wrap(t, httpapi.NewServer(store, opt)))
	t.Cleanup(srv.Close)
	c, err := httpapi.NewClientFunc(srv.URL, TokenSource(store))
	if err != nil {
		t.Fatal(err)
	}
	return &Remote{Client: c, Store: store, Outbox: outbox}
}

// TokenSource acts as whichever account ctx names: it issues that account a
// token on first use, straight from the store.
func TokenSource(store licensing.TokenService) func(context.Context) (string, error) {
	var mu sync.Mutex
	tokens := map[string]string{}
	return func(ctx context.Context) (string, error) {
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
}

// CreateAccount is an operator action on the server host.
func (r *Remote) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	return r.Store.CreateAccount(ctx, email)
}

// ListAccounts is an operator action on the server host.
func (r *Remote) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	return r.Store.ListAccounts(ctx)
}

// ImportProducts is an operator action on the server host.
func (r *Remote) ImportProducts(ctx context.Context, ps []licensing.Product) (int, error) {
	return r.Store.ImportProducts(ctx, ps)
}

// RunRenewals without an acting account is the operator's run over every
// account, on the server host; with one it goes through the API.
func (r *Remote) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	if licensing.AccountFrom(ctx) == "" {
		return r.Store.RunRenewals(ctx, asOf)
	}
	return r.Client.RunRenewals(ctx, asOf)
}

// DueRenewals without an acting account is the operator's preview of every
// account, on the server host; with one it goes through the API.
func (r *Remote) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	if licensing.AccountFrom(ctx) == "" {
		return r.Store.DueRenewals(ctx, until)
	}
	return r.Client.DueRenewals(ctx, until)
}

// RotateSigningKey is an operator action on the server host.
func (r *Remote) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	return r.Store.RotateSigningKey(ctx)
}

// OutboxDir implements contract.OutboxBackend.
func (r *Remote) OutboxDir() string { return r.Outbox }

// ListAudit leaves out the token.create events of the tokens the harness
// issues behind the suite's back; the suite counts the events of its own calls.
func (r *Remote) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	evs, err := r.Client.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for _, e := range evs {
		if e.Action != "token.create" {
			out = append(out, e)
		}
	}
	return out, nil
}

// UpdateLicense sends a suspension, which the API refuses to account
// tokens, to the store on the server host: suspending is the operator's.
func (r *Remote) UpdateLicense(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
	if u.Suspended != nil {
		return r.Store.UpdateLicense(ctx, key, u)
	}
	return r.Client.UpdateLicense(ctx, key, u)
}
