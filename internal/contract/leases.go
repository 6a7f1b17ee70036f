package contract

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// leaseTests are leased activations, the floating pool and stale
// activations, on every backend.
func leaseTests() []struct {
	name string
	fn   func(*testing.T, *env)
} {
	return []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseHeartbeat", testLeaseHeartbeat},
		{"LeaseRefusals", testLeaseRefusals},
		{"LeaseSweep", testLeaseSweep},
		{"FloatingPool", testFloatingPool},
		{"FloatingPoolRace", testFloatingPoolRace},
		{"StaleActivations", testStaleActivations},
	}
}

func leased(key, name string, lease time.Duration) licensing.ActivationRequest {
	r := machine(key, name, licensing.OSLinux, "7.5.0") // a build lifetime licenses without maintenance may use
	r.LeaseSeconds = int64(lease / time.Second)
	return r
}

func testLeaseExpiry(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ci@example.com")
	key := e.buyOne(ctx, line("backup-desktop", 1), false)
	start := e.clock.Now()
	a := e.activate(ctx, leased(key, "runner-1", 10*time.Minute))
	if a.LeaseSeconds != 600 || a.LeaseExpiresAt == nil || !a.LeaseExpiresAt.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("leased activation %+v", a)
	}
	// Within the lease: the seat is held, a second machine refused.
	_, err := svc.Activate(ctx, leased(key, "runner-2", 10*time.Minute))
	wantCode(t, err, licensing.ECONFLICT, "the seat is held")
	if v, err := svc.ValidateLicense(ctx, key, "fp-runner-1", ""); err != nil || v.Code != licensing.ValidValid {
		t.Fatalf("validation within the lease: %+v %v", v, err)
	}
	// The lease runs out: no seat held, NO_MACHINE, and the seat is the
	// next machine's at once.
	e.clock.Set(start.Add(10 * time.Minute))
	if v, err := svc.ValidateLicense(ctx, key, "fp-runner-1", ""); err != nil || v.Code != licensing.ValidNoMachine {
		t.Fatalf("validation after the lease: %+v %v", v, err)
	}
	if list, err := svc.ListActivations(ctx, licensing.ActivationFilter{}); err != nil || len(list) != 0 {
		t.Errorf("an expired lease is not listed: %+v %v", list, err)
	}
	b := e.activate(ctx, leased(key, "runner-2", 10*time.Minute))
	if b.Existing || b.Machine != "runner-2" {
		t.Errorf("the next machine: %+v", b)
	}
	if n, _, _ := e.seatsUsed(ctx, key); n != 1 {
		t.Errorf("seats_used = %d after the expired lease was released and another taken", n)
	}
	evs := e.audit(ctx, licensing.AuditFilter{Action: "activation.lease_expired"})
	if len(evs) != 1 || evs[0].Object != key || !strings.Contains(string(evs[0].Details), "runner-1") {
		t.Errorf("the expiry is audited once: %+v", evs)
	}
	// The expired machine comes back: a new activation, not its old one.
	_, err = svc.Activate(ctx, leased(key, "runner-1", 10*time.Minute))
	wantCode(t, err, licensing.ECONFLICT, "the seat is runner-2's now")
}

func testLeaseHeartbeat(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ci@example.com")
	key := e.buyOne(ctx, line("backup-desktop", 1), false)
	start := e.clock.Now()
	a := e.activate(ctx, leased(key, "runner-1", 10*time.Minute))
	for i := 1; i <= 3; i++ {
		e.clock.Set(start.Add(time.Duration(i) * 8 * time.Minute)) // before each expiry
		hb, err := svc.Heartbeat(ctx, a.ID)
		if err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if want := e.clock.Now().Add(10 * time.Minute); !hb.LeaseExpiresAt.Equal(want) || !hb.LastSeenAt.Equal(e.clock.Now()) {
			t.Fatalf("heartbeat %d: lease until %v, seen %v; want %v", i, hb.LeaseExpiresAt, hb.LastSeenAt, want)
		}
	}
	// 24 minutes after the activation, 34 after an unrenewed lease would
	// have ended: still held.
	if v, err := svc.ValidateLicense(ctx, key, "fp-runner-1", ""); err != nil || v.Code != licensing.ValidValid {
		t.Fatalf("validation after heartbeats: %+v %v", v, err)
	}
	list, err := svc.ListActivations(ctx, licensing.ActivationFilter{})
	if err != nil || len(list) != 1 || !list[0].LeaseExpiresAt.Equal(start.Add(34*time.Minute)) {
		t.Errorf("listed %+v %v", list, err)
	}
	// Activating the same machine again is the same activation, its lease
	// renewed.
	e.clock.Add(time.Minute)
	again := e.activate(ctx, leased(key, "runner-1", 10*time.Minute))
	if !again.Existing || again.ID != a.ID || !again.LeaseExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Errorf("activating again: %+v", again)
	}
	// Missed: the lease is lost.
	e.clock.Add(10 * time.Minute)
	_, err = svc.Heartbeat(ctx, a.ID)
	wantCode(t, err, licensing.ECONFLICT, "a heartbeat after the lease ended")
}

func testLeaseRefusals(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ci@example.com")
	key := e.buyOne(ctx, line("backup-desktop", 1), false)
	for _, lease := range []time.Duration{5 * time.Second, 31 * 24 * time.Hour, -time.Minute} {
		_, err := svc.Activate(ctx, leased(key, "m", lease))
		wantCode(t, err, licensing.EINVALID, "lease "+lease.String())
	}
	plain := e.activate(ctx, machine(key, "desk", licensing.OSWindows, "7.9.4"))
	if plain.LeaseExpiresAt != nil || plain.LeaseSeconds != 0 {
		t.Errorf("an activation without a lease: %+v", plain)
	}
	_, err := svc.Heartbeat(ctx, plain.ID)
	wantCode(t, err, licensing.EINVALID, "a heartbeat of an activation without a lease")
	_, err = svc.Heartbeat(ctx, 999999)
	wantCode(t, err, licensing.ENOTFOUND, "a heartbeat of no activation")
	other := e.account("other@example.com")
	_, err = svc.Heartbeat(other, plain.ID)
	wantCode(t, err, licensing.ENOTFOUND, "another account's activation")
	// A non-leased activation never expires.
	e.clock.Add(365 * 24 * time.Hour)
	if list, err := svc.ListActivations(ctx, licensing.ActivationFilter{}); err != nil || len(list) != 1 {
		t.Errorf("a year later: %+v %v", list, err)
	}
}

// sweeper is a backend that can sweep every account's expired leases (the
// local stores; a server sweeps on its own schedule).
type sweeper interface {
	SweepLeases(ctx context.Context) (int, error)
}

func testLeaseSweep(t *testing.T, e *env) {
	ctx := e.account("ci@example.com")
	key := e.buyOne(ctx, line("backup-server", 1), false)
	e.activate(ctx, leased(key, "runner-1", time.Minute))
	e.clock.Add(2 * time.Minute)
	sw, ok := e.svc.(sweeper)
	if !ok {
		// Over HTTP the server sweeps on its schedule; the lazy release
		// inside the next activation is what every backend shares.
		e.activate(ctx, leased(key, "runner-2", time.Minute))
		return
	}
	n, err := sw.SweepLeases(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if used, status, _ := e.seatsUsed(ctx, key); used != 0 || status != licensing.StatusNotActivated {
		t.Errorf("after the sweep: seats_used %d, status %s", used, status)
	}
	if n, err := sw.SweepLeases(context.Background()); err != nil || n != 0 {
		t.Errorf("a second sweep releases nothing: %d, %v", n, err)
	}
}

func testFloatingPool(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ci@example.com")
	e.company(ctx, "Acme")
	old := e.buyOne(ctx, line("backup-server", 1), false)
	e.clock.Add(time.Hour)
	newer := e.buyOne(ctx, line("backup-server", 1), false)
	e.buyOne(ctx, inCompany(line("backup-server", 1), "Acme"), false)
	pool := func(name string) licensing.ActivationRequest {
		r := leased("", name, 10*time.Minute)
		r.Product = "backup-server"
		return r
	}
	a1 := e.activate(ctx, pool("r1"))
	a2 := e.activate(ctx, pool("r2"))
	// Equal free seats: the oldest license first.
	if a1.LicenseKey != old || a2.LicenseKey != newer {
		t.Errorf("pool handed out %s then %s; want the oldest (%s) first", a1.LicenseKey, a2.LicenseKey, old)
	}
	_, err := svc.Activate(ctx, pool("r3"))
	wantCode(t, err, licensing.ECONFLICT, "a pool with every seat taken")
	if !strings.Contains(licensing.ErrorMessage(err), "(2 of 2 in use)") {
		t.Errorf("the refusal counts the seats: %v", err)
	}
	// The same machine again gets its own seat back, not another.
	if again := e.activate(ctx, pool("r1")); again.ID != a1.ID || !again.Existing {
		t.Errorf("r1 again: %+v", again)
	}
	// The company's license is its own pool.
	inAcme := pool("r3")
	inAcme.Company = "acme"
	if a3 := e.activate(ctx, inAcme); a3.LicenseKey == old || a3.LicenseKey == newer {
		t.Errorf("a company's pool handed out a global pool's license %s", a3.LicenseKey)
	}
	// A released seat goes to the next machine.
	if _, err := svc.Deactivate(ctx, licensing.DeactivateRequest{ID: a2.ID}); err != nil {
		t.Fatal(err)
	}
	if a4 := e.activate(ctx, pool("r4")); a4.LicenseKey != newer {
		t.Errorf("r4 got %s, want the freed %s", a4.LicenseKey, newer)
	}
	for _, bad := range []licensing.ActivationRequest{
		func() licensing.ActivationRequest { r := pool("x"); r.LicenseKey = old; return r }(),
		func() licensing.ActivationRequest { r := pool("x"); r.Product = ""; r.Company = "Acme"; return r }(),
	} {
		_, err := svc.Activate(ctx, bad)
		wantCode(t, err, licensing.EINVALID, "key and product, or company alone")
	}
	none := pool("x")
	none.Product = "backup-exchange"
	_, err = svc.Activate(ctx, none)
	wantCode(t, err, licensing.ENOTFOUND, "a product the account has no license of")
}

// As many machines at once as the pool has seats, and more: exactly as many
// win as there are seats, each seat once.
func testFloatingPoolRace(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ci@example.com")
	for range 3 {
		e.buyOne(ctx, line("backup-desktop", 1), false)
	}
	const machines = 8
	var wg sync.WaitGroup
	errs := make([]error, machines)
	got := make([]*licensing.Activation, machines)
	for i := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := leased("", "racer-"+string(rune('a'+i)), 10*time.Minute)
			r.Product = "backup-desktop"
			got[i], errs[i] = svc.Activate(ctx, r)
		}()
	}
	wg.Wait()
	won, keys := 0, map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			keys[got[i].LicenseKey] = true
		case licensing.ErrorCode(err) != licensing.ECONFLICT:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if won != 3 || len(keys) != 3 {
		t.Errorf("%d machines won seats on %d licenses; want 3 on 3", won, len(keys))
	}
	list, err := svc.ListActivations(ctx, licensing.ActivationFilter{})
	if err != nil || len(list) != won {
		t.Errorf("%d activations listed, %d won (%v)", len(list), won, err)
	}
}

func testStaleActivations(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ci@example.com")
	k1 := e.buyOne(ctx, line("backup-desktop", 1), false)
	k2 := e.buyOne(ctx, line("backup-desktop", 1), false)
	old := e.activate(ctx, machine(k1, "old", licensing.OSLinux, "7.9.4"))
	e.clock.Add(3 * time.Hour)
	fresh := e.activate(ctx, machine(k2, "fresh", licensing.OSLinux, "7.9.4"))
	stale, err := svc.ListActivations(ctx, licensing.ActivationFilter{Stale: 2 * time.Hour})
	if err != nil || len(stale) != 1 || stale[0].ID != old.ID {
		t.Fatalf("stale: %+v %v", stale, err)
	}
	// Validation counts as being seen.
	if _, err := svc.ValidateLicense(ctx, k1, "fp-old", ""); err != nil {
		t.Fatal(err)
	}
	if stale, _ := svc.ListActivations(ctx, licensing.ActivationFilter{Stale: 2 * time.Hour}); len(stale) != 0 {
		t.Errorf("validated machines are not stale: %+v", stale)
	}
	e.clock.Add(3 * time.Hour)
	if _, err := svc.ValidateLicense(ctx, k1, "fp-old", ""); err != nil { // old is seen again; fresh was 3 h ago
		t.Fatal(err)
	}
	preview, err := svc.ReleaseStale(ctx, 2*time.Hour, true)
	if err != nil || len(preview) != 1 || preview[0].ID != fresh.ID {
		t.Fatalf("dry run: %+v %v", preview, err)
	}
	if list, _ := svc.ListActivations(ctx, licensing.ActivationFilter{}); len(list) != 2 {
		t.Errorf("a dry run released something: %+v", list)
	}
	released, err := svc.ReleaseStale(ctx, 2*time.Hour, false)
	if err != nil || len(released) != 1 || released[0].ID != fresh.ID {
		t.Fatalf("released: %+v %v", released, err)
	}
	if n, _, _ := e.seatsUsed(ctx, k2); n != 0 {
		t.Errorf("seats_used %d after the release", n)
	}
	if evs := e.audit(ctx, licensing.AuditFilter{Action: "activation.delete", Object: k2}); len(evs) != 1 ||
		!strings.Contains(string(evs[0].Details), `"released_by":"stale"`) {
		t.Errorf("the release is audited: %+v", evs)
	}
	_, err = svc.ReleaseStale(ctx, time.Second, false)
	wantCode(t, err, licensing.EINVALID, "a stale period under a minute")
	_, err = svc.ListActivations(ctx, licensing.ActivationFilter{Stale: -time.Hour})
	wantCode(t, err, licensing.EINVALID, "a negative stale period")
}

// An offline activation is never leased: its machine cannot renew a lease,
// and an expired one would free the seat while the machine still holds a
// valid certificate. A leased online activation of the machine that holds
// the seat offline is refused, and the offline activation keeps its seat
// past the lease it was asked for.
func testOfflineNotLeased(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	key := e.buyOne(ctx, line("backup-server", 1), false)
	reqFile, _, _ := offlineRequest(t, key, "vault", e.clock.Now())
	oa, err := svc.ActivateOffline(ctx, reqFile)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Activate(ctx, licensing.ActivationRequest{LicenseKey: key, Machine: "vault", Fingerprint: "fp-vault",
		OS: licensing.OSLinux, Version: "7.9.4", LeaseSeconds: 60})
	wantCode(t, err, licensing.EINVALID, "a leased online activation of an offline machine")
	e.clock.Add(2 * time.Minute)
	acts, err := svc.ListActivations(ctx, licensing.ActivationFilter{})
	if err != nil || len(acts) != 1 || acts[0].ID != oa.ID || acts[0].Mode != licensing.ModeOffline || acts[0].LeaseExpiresAt != nil {
		t.Fatalf("activations after the refused lease: %+v, %v", acts, err)
	}
	if n, _, _ := e.seatsUsed(ctx, key); n != 1 {
		t.Errorf("seats used %d, want 1: the offline machine's", n)
	}
	// Without a lease the same machine is refreshed, as before.
	again, err := svc.Activate(ctx, licensing.ActivationRequest{LicenseKey: key, Machine: "vault", Fingerprint: "fp-vault",
		OS: licensing.OSLinux, Version: "7.9.4"})
	if err != nil || again.ID != oa.ID || !again.Existing || again.Mode != licensing.ModeOffline || again.LeaseExpiresAt != nil {
		t.Fatalf("online activation of the offline machine: %+v, %v", again, err)
	}
}
