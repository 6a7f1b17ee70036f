package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
)

// race runs a and b at the same moment (as near as goroutines get) and
// returns their errors.
func race(a, b func() error) (errA, errB error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = a() }()
	go func() { defer wg.Done(); <-start; errB = b() }()
	close(start)
	wg.Wait()
	return errA, errB
}

// twoPools opens one store twice: two pools, as two replicas would have.
func twoPools(t *testing.T) (*Store, *Store) {
	clock := contract.NewClock(contract.Start())
	s1, url := openSchema(t, clock)
	return s1, openURL(t, url, clock, false)
}

func newAccount(t *testing.T, s *Store, email string) context.Context {
	t.Helper()
	if _, err := services(s).CreateAccount(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	return licensing.WithAccount(context.Background(), email)
}

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two replicas receive the same purchase (a client retrying against another
// replica): exactly one purchase is made and both answer with it.
func TestRaceIdempotencyKey(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := newAccount(t, s1, "a@example.com")
	const rounds = 20
	want := 0
	for i := range rounds {
		qty := 3
		if i%2 == 1 {
			qty = copyThreshold + 7 // the COPY path
		}
		want += qty
		req := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: qty}},
			IdempotencyKey: fmt.Sprintf("race-%d", i)}
		var p1, p2 *licensing.Purchase
		err1, err2 := race(
			func() (err error) { p1, err = services(s1).Buy(ctx, req, nil); return err },
			func() (err error) { p2, err = services(s2).Buy(ctx, req, nil); return err })
		if err1 != nil || err2 != nil {
			t.Fatalf("round %d: %v / %v", i, err1, err2)
		}
		if p1.ID != p2.ID || !slices.Equal(p1.Licenses, p2.Licenses) || p1.Replayed == p2.Replayed {
			t.Fatalf("round %d: purchases %s (replayed %t, %d keys) and %s (replayed %t, %d keys)", i,
				p1.ID, p1.Replayed, len(p1.Licenses), p2.ID, p2.Replayed, len(p2.Licenses))
		}
		if n := count(t, s1, "SELECT count(*) FROM purchases WHERE idempotency_key = $1", req.IdempotencyKey); n != 1 {
			t.Fatalf("round %d: %d purchases with the key", i, n)
		}
	}
	if n := count(t, s1, "SELECT count(*) FROM licenses"); n != want {
		t.Errorf("%d licenses, want %d", n, want)
	}
	if n := count(t, s1, "SELECT count(*) FROM audit WHERE action = 'purchase.create'"); n != rounds {
		t.Errorf("%d purchase.create events, want %d", n, rounds)
	}
}

// The first purchases of a subscription type race with different payment
// modes: one mode wins, the other purchase fails with ECONFLICT.
func TestRaceBillingMode(t *testing.T) {
	s1, s2 := twoPools(t)
	for i := range 15 {
		ctx := newAccount(t, s1, fmt.Sprintf("b%d@example.com", i))
		buy := func(s *Store, billing string) func() error {
			return func() error {
				_, err := services(s).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{
					{Product: "mbs-vm", Quantity: 2, Billing: billing}}}, nil)
				return err
			}
		}
		err1, err2 := race(buy(s1, licensing.BillingMonthly), buy(s2, licensing.BillingAnnual))
		if (err1 == nil) == (err2 == nil) {
			t.Fatalf("round %d: want exactly one success, got %v / %v", i, err1, err2)
		}
		winner, loserErr := licensing.BillingMonthly, err2
		if err1 != nil {
			winner, loserErr = licensing.BillingAnnual, err1
		}
		if code := licensing.ErrorCode(loserErr); code != licensing.ECONFLICT {
			t.Fatalf("round %d: loser got %s (%v), want ECONFLICT", i, code, loserErr)
		}
		acct := fmt.Sprintf("b%d@example.com", i)
		var mode string
		if err := s1.pool.QueryRow(context.Background(), `SELECT m.billing FROM billing_modes m JOIN accounts a ON a.id = m.account_id
			WHERE a.email = $1 AND m.sku = 'mbs-vm'`, acct).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != winner {
			t.Fatalf("round %d: mode %s, winner %s", i, mode, winner)
		}
		if n := count(t, s1, `SELECT count(*) FROM licenses l JOIN accounts a ON a.id = l.account_id WHERE a.email = $1`, acct); n != 2 {
			t.Fatalf("round %d: %d licenses, want 2", i, n)
		}
	}
}

// Two replicas take the same trial at once: one gets it.
func TestRaceTrialOnce(t *testing.T) {
	s1, s2 := twoPools(t)
	for i := range 10 {
		ctx := newAccount(t, s1, fmt.Sprintf("t%d@example.com", i))
		req := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 1}}, Trial: true}
		err1, err2 := race(
			func() error { _, err := services(s1).Buy(ctx, req, nil); return err },
			func() error { _, err := services(s2).Buy(ctx, req, nil); return err })
		if (err1 == nil) == (err2 == nil) {
			t.Fatalf("round %d: want exactly one trial, got %v / %v", i, err1, err2)
		}
		if err := firstErr(err1, err2); licensing.ErrorCode(err) != licensing.ECONFLICT {
			t.Fatalf("round %d: %v, want ECONFLICT", i, err)
		}
	}
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// A gift bought for an email while its account is being created ends up
// with that account, whichever commits first.
func TestRaceGiftAndNewAccount(t *testing.T) {
	s1, s2 := twoPools(t)
	buyer := newAccount(t, s1, "buyer@example.com")
	for i := range 10 {
		email := fmt.Sprintf("g%d@example.com", i)
		err1, err2 := race(
			func() error {
				_, err := services(s1).Buy(buyer, licensing.BuyRequest{PurchaseEmail: email,
					Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 2}}}, nil)
				return err
			},
			func() error { _, err := services(s2).CreateAccount(context.Background(), email); return err })
		if err1 != nil || err2 != nil {
			t.Fatalf("round %d: %v / %v", i, err1, err2)
		}
		if n := count(t, s1, "SELECT count(*) FROM licenses WHERE purchase_email = $1 AND account_id IS NULL", email); n != 0 {
			t.Fatalf("round %d: %d licenses left without their account", i, n)
		}
	}
}

// Replicas starting at once on a new schema create and migrate it once.
func TestConcurrentCreate(t *testing.T) {
	_, url, drop := pgtest.NewSchema("lct_test")
	t.Cleanup(func() { drop() })
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(context.Background(), url, Options{Create: true})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := openURL(t, url, nil, false)
	ms, _ := migrations()
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != len(ms) {
		t.Fatalf("schema version %d, %v", v, err)
	}
}
