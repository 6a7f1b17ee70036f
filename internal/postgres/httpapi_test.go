package postgres

import (
	"net/http/httptest"
	"testing"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/httpapitest"
	"github.com/licensectl/licensectl/internal/licensing"
)

// The contract suite over HTTP on PostgreSQL: client → a real server on a
// loopback port → PostgreSQL, every capability included.
func TestHTTPContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		store, _ := openSchema(t, clock)
		return httpapitest.Start(t, services(store), clock, httpapi.Options{Rate: 10000})
	})
}

// Two servers, each on its own pool, receive the same purchase with the same
// Idempotency-Key at once: one purchase is made and both answer with it.
func TestHTTPTwoReplicasIdempotency(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := newAccount(t, s1, "a@example.com")
	tokens := httpapitest.TokenSource(services(s1))
	var clients []*httpapi.Client
	for _, s := range []*Store{s1, s2} {
		srv := httptest.NewServer(httpapi.NewServer(services(s), httpapi.Options{Rate: 10000}))
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
