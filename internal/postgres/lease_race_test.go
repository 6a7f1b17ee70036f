package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Two replicas (two pools on one database) sweep expired leases while
// machines take seats from a floating pool through both: every expired
// lease is released exactly once, no seat is handed to two machines, and
// seats_used always equals the activations held.
func TestLeaseSweepAndPoolAcrossReplicas(t *testing.T) {
	clock := contract.NewClock(contract.Start())
	s1, url := openSchema(t, clock)
	s2 := openURL(t, url, clock, false)
	a1, a2 := services(s1), services(s2)
	ctx := newAccount(t, s1, "ci@example.com")
	const licenses = 4
	for range licenses {
		if _, err := a1.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 1}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	req := func(name string) licensing.ActivationRequest {
		return licensing.ActivationRequest{Product: "backup-desktop", Machine: name, Fingerprint: "fp-" + name,
			OS: licensing.OSLinux, Version: "7.5.0", LeaseSeconds: 60}
	}
	expired := 0
	for round := range 3 {
		// Fill every seat with a lease, then let the leases run out.
		for i := range licenses {
			if _, err := a1.Activate(ctx, req(fmt.Sprintf("r%d-m%d", round, i))); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		expired += licenses
		clock.Add(2 * time.Minute)
		// Both replicas sweep while 8 machines race for the 4 freed seats
		// through both.
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		errs := []error{}
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := a1
				if i%2 == 1 {
					svc = a2
				}
				_, err := svc.Activate(ctx, req(fmt.Sprintf("r%d-racer%d", round, i)))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won++
				} else if licensing.ErrorCode(err) != licensing.ECONFLICT {
					errs = append(errs, err)
				}
			}()
		}
		for _, svc := range []interface {
			SweepLeases(context.Context) (int, error)
		}{a1, a2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.SweepLeases(context.Background()); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %v", round, errs)
		}
		if won != licenses {
			t.Fatalf("round %d: %d machines won a seat, want %d", round, won, licenses)
		}
		held := count(t, s1, "SELECT count(*) FROM activations")
		used := count(t, s1, "SELECT coalesce(sum(seats_used), 0) FROM licenses")
		if held != licenses || used != licenses {
			t.Fatalf("round %d: %d activations, %d seats used; want %d each", round, held, used, licenses)
		}
		if n := count(t, s1, "SELECT count(*) FROM audit WHERE action = 'activation.lease_expired'"); n != expired {
			t.Fatalf("round %d: %d lease expiries recorded, want %d (each once)", round, n, expired)
		}
		// The racers' leases expire next round; release them now.
		clock.Add(2 * time.Minute)
		if n, err := a2.SweepLeases(context.Background()); err != nil || n != licenses {
			t.Fatalf("round %d: sweep %d, %v", round, n, err)
		}
		expired += licenses
	}
}
