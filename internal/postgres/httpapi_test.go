package postgres

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
)

// remote is the HTTP backend over a PostgreSQL store, as the contract suite
// sees it (internal/httpapi's harness does the same over SQLite): account
// calls go through a real server with the account's token; operator actions,
// which the API refuses, go to the store. Only licensing.Services of the
// client is embedded: the capabilities this store does not implement yet
// (attach, maintenance, activations) must be skipped, not called.
type remote struct {
	licensing.Services
	store *Store
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

// ListAudit leaves out the token.create events of the harness's own tokens.
func (r *remote) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	evs, err := r.Services.ListAudit(ctx, f)
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

// tokenSource issues one token per account on first use.
func tokenSource(store *Store) func(context.Context) (string, error) {
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
		tok, err := store.CreateToken(ctx)
		if err != nil {
			return "", err
		}
		tokens[email] = tok.Secret
		return tok.Secret, nil
	}
}

func TestHTTPContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		store, _ := openSchema(t, clock)
		srv := httptest.NewServer(httpapi.NewServer(store, httpapi.Options{Rate: 10000}))
		t.Cleanup(srv.Close)
		c, err := httpapi.NewClientFunc(srv.URL, tokenSource(store))
		if err != nil {
			t.Fatal(err)
		}
		return &remote{Services: c, store: store}
	})
}

// Two servers, each on its own pool, receive the same purchase with the same
// Idempotency-Key at once: one purchase is made and both answer with it.
func TestHTTPTwoReplicasIdempotency(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := newAccount(t, s1, "a@example.com")
	tokens := tokenSource(s1)
	var clients []*httpapi.Client
	for _, s := range []*Store{s1, s2} {
		srv := httptest.NewServer(httpapi.NewServer(s, httpapi.Options{Rate: 10000}))
		t.Cleanup(srv.Close)
		c, err := httpapi.NewClientFunc(srv.URL, tokens)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for i := range 10 {
		req := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 2}},
			IdempotencyKey: "http-race-" + string(rune('a'+i))}
		var p [2]*licensing.Purchase
		err1, err2 := race(
			func() (err error) { p[0], err = clients[0].Buy(ctx, req, nil); return err },
			func() (err error) { p[1], err = clients[1].Buy(ctx, req, nil); return err })
		// A retry that arrives while the first is in flight may be refused
		// with ECONFLICT (409); it must never make a second purchase.
		for j, err := range []error{err1, err2} {
			if err != nil && licensing.ErrorCode(err) != licensing.ECONFLICT {
				t.Fatalf("round %d, replica %d: %v", i, j+1, err)
			}
		}
		if err1 == nil && err2 == nil && p[0].ID != p[1].ID {
			t.Fatalf("round %d: two purchases %s and %s", i, p[0].ID, p[1].ID)
		}
		if n := count(t, s1, "SELECT count(*) FROM purchases WHERE idempotency_key = $1", req.IdempotencyKey); n != 1 {
			t.Fatalf("round %d: %d purchases", i, n)
		}
	}
}
