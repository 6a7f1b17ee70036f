package httpapi

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// remote is the HTTP backend as the contract suite sees it: account-scoped
// calls go through a real server on a loopback port with the acting
// account's token; operator actions (creating accounts, importing products),
// which the API refuses by design, go to the store on the server's host.
type remote struct {
	*Client
	store  *sqlite.Store
	outbox string
}

// OutboxDir is where the server's mailer leaves confirmation codes
// (contract.OutboxBackend).
func (r *remote) OutboxDir() string { return r.outbox }

// RunRenewals without an acting account is the operator's run over every
// account, done on the server host (the API runs one account's renewals).
func (r *remote) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	if licensing.AccountFrom(ctx) == "" {
		return r.store.RunRenewals(ctx, asOf)
	}
	return r.Client.RunRenewals(ctx, asOf)
}

// RotateSigningKey is an operator action on the server host.
func (r *remote) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	return r.store.RotateSigningKey(ctx)
}

func (r *remote) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	return r.store.CreateAccount(ctx, email)
}

func (r *remote) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	return r.store.ListAccounts(ctx)
}

func (r *remote) ImportProducts(ctx context.Context, ps []licensing.Product) (int, error) {
	return r.store.ImportProducts(ctx, ps)
}

// ListAudit leaves out the token.create events of the tokens this harness
// issues behind the suite's back to act as each account; the suite counts
// the events of its own calls.
func (r *remote) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
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

// newServer starts a server on a fresh store and returns the store, the
// server's URL and a token source that acts as whichever account ctx names.
func newServer(t testing.TB, clock licensing.Clock, opt Options) (*sqlite.Store, *httptest.Server, func(context.Context) (string, error)) {
	t.Helper()
	ctx := context.Background()
	if opt.Mailer == nil {
		opt.Mailer = &mail.Outbox{Dir: filepath.Join(t.TempDir(), "outbox"), From: "licensectl@example.org", Clock: clock}
	}
	opt.Clock = clock
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(store, opt))
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
		tok, err := store.CreateToken(ctx)
		if err != nil {
			return "", err
		}
		tokens[email] = tok.Secret
		return tok.Secret, nil
	}
	return store, srv, tokenFor
}

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		outbox := filepath.Join(t.TempDir(), "outbox")
		store, srv, tokenFor := newServer(t, clock, Options{Rate: 10000,
			Mailer: &mail.Outbox{Dir: outbox, From: "licensectl@example.org", Clock: clock}})
		c, err := NewClientFunc(srv.URL, tokenFor)
		if err != nil {
			t.Fatal(err)
		}
		return &remote{Client: c, store: store, outbox: outbox}
	})
}
