package postgres

import (
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/httpapitest"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
)

// The contract suite over HTTP on PostgreSQL: client → a real server on a
// loopback port → PostgreSQL, every capability included, every request and
// response checked against docs/openapi.yaml.
func TestHTTPContract(t *testing.T) {
	spec := openapicheck.LoadDoc(t)
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		store, _ := openSchema(t, clock)
		return httpapitest.StartChecked(t, spec, services(store), clock, httpapi.Options{Rate: 10000})
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
		srv := httptest.NewServer(openapicheck.LoadDoc(t).Wrap(t, httpapi.NewServer(services(s), httpapi.Options{Rate: 10000})))
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

// On PostgreSQL too: a token cannot change a suspension (403 forbidden), and
// the audit log tells an API change ("EMAIL via api token PREFIX") from one
// made on the server host ("EMAIL").
func TestHTTPSuspensionAndAuditActor(t *testing.T) {
	store, _ := openSchema(t, licensing.SystemClock{})
	ctx := newAccount(t, store, "a@example.com")
	remote := httpapitest.Start(t, services(store), licensing.SystemClock{}, httpapi.Options{Rate: 10000})
	p, err := services(store).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := p.Licenses[0]
	if _, err := services(store).UpdateLicense(ctx, key, licensing.LicenseUpdate{Suspended: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Client.UpdateLicense(ctx, key, licensing.LicenseUpdate{Suspended: ptr(false)}); licensing.ErrorCode(err) != licensing.EFORBIDDEN {
		t.Fatalf("lifting a suspension over the API: %v (%s)", err, licensing.ErrorCode(err))
	}
	if v, err := services(store).ValidateLicense(ctx, key, "", ""); err != nil || v.Code != licensing.ValidSuspended {
		t.Fatalf("after the refusal: %+v %v", v, err)
	}
	if _, err := remote.Client.UpdateLicense(ctx, key, licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	evs, err := services(store).ListAudit(ctx, licensing.AuditFilter{Action: "license.update", Object: key})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	if !regexp.MustCompile(`^a@example\.com via api token lct_[a-z2-7]{8}$`).MatchString(evs[0].Actor) || evs[1].Actor != "a@example.com" {
		t.Fatalf("actors %q (API) and %q (local)", evs[0].Actor, evs[1].Actor)
	}
}

func ptr[T any](v T) *T { return &v }

// The permission matrix on PostgreSQL: every route × every kind of caller
// against a real server, as on SQLite.
func TestPermissionMatrix(t *testing.T) {
	clock := contract.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, _ := openSchema(t, clock)
	httpapitest.RunMatrix(t, services(store), clock)
}
