package sqlite

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
)

// TestLastSeatRace races many Store handles - each with its own connections,
// as separate processes would have - for the last seat of a license in one
// file: exactly one wins, the others are refused with ECONFLICT, and
// seats_used matches the activations.
func TestLastSeatRace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	firstStore, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer firstStore.Close()
	if _, err := services(firstStore).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	first := services(firstStore)
	acct := actingAs(t, firstStore, "ops@example.com")
	p, err := first.Buy(acct, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-vm", Quantity: 1, Billing: "monthly"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := p.Licenses[0]
	// One of mbs-vm's two seats is taken; the racers fight for the other.
	if _, err := first.Activate(acct, licensing.ActivationRequest{LicenseKey: key, Machine: "m0", Fingerprint: "fp-0", OS: "windows", Version: "7.9.4"}); err != nil {
		t.Fatal(err)
	}

	const racers = 8
	stores := make([]*app.App, racers)
	for i := range stores {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = services(s)
	}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, racers)
	)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.Activate(acct, licensing.ActivationRequest{LicenseKey: key, Machine: fmt.Sprintf("m%d", i+1),
				Fingerprint: fmt.Sprintf("fp-%d", i+1), OS: "windows", Version: "7.9.4"})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch licensing.ErrorCode(err) {
		case "":
			won++
		case licensing.ECONFLICT:
		default:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d racers got the last seat, want exactly 1", won)
	}
	d, err := first.GetLicense(acct, key)
	if err != nil {
		t.Fatal(err)
	}
	list, err := first.ListActivations(acct, licensing.ActivationFilter{LicenseKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if d.SeatsUsed != 2 || len(list) != 2 {
		t.Errorf("seats_used %d, activations %d; want 2 and 2", d.SeatsUsed, len(list))
	}
}

// TestSeatsUsedMatchesActivations checks the counter against the rows after
// a mix of activations, re-activations and releases.
func TestSeatsUsedMatchesActivations(t *testing.T) {
	s := openStore(t, nil)
	acct := actingAs(t, s, "ops@example.com")
	p, err := services(s).Buy(acct, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-vm", Quantity: 3, Billing: "annual"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range p.Licenses {
		for j := 0; j < 3; j++ { // the third is refused: two seats
			services(s).Activate(acct, licensing.ActivationRequest{LicenseKey: key, Machine: "m", Fingerprint: fmt.Sprint(j), OS: "windows", Version: "7.9.4"})
			services(s).Activate(acct, licensing.ActivationRequest{LicenseKey: key, Machine: "m", Fingerprint: fmt.Sprint(j), OS: "windows", Version: "7.9.4"})
		}
		if i == 1 {
			if _, err := services(s).Deactivate(acct, licensing.DeactivateRequest{LicenseKey: key, Fingerprint: "0"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mismatched int
	if err := s.r.QueryRow(`SELECT count(*) FROM licenses l WHERE seats_used !=
		(SELECT count(*) FROM activations a WHERE a.license_id = l.id)`).Scan(&mismatched); err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 {
		t.Errorf("%d licenses' seats_used differ from their activations", mismatched)
	}
}

// BenchmarkOfflineActivateVerify measures the connected side's offline
// activation (checks, record, sign) plus the machine's verification, one
// certificate per operation. Requests are made outside the timer: the
// offline machine makes them.
func BenchmarkOfflineActivateVerify(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, nil)
	acct := actingAs(b, s, "ops@example.com")
	keys, err := services(s).SigningKeys(ctx)
	if err != nil {
		b.Fatal(err)
	}
	pub := []ed25519.PublicKey{keys[0].PublicKey}
	var (
		requests [][]byte
		now      = time.Now()
	)
	refill := func() {
		b.StopTimer()
		defer b.StartTimer()
		p, err := services(s).Buy(acct, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1000}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i, key := range p.Licenses {
			r, _, err := offline.NewRequest(rand.Reader, key, "m", fmt.Sprint("fp-", i), "linux", "7.9.4", now)
			if err != nil {
				b.Fatal(err)
			}
			rb, _ := r.Marshal()
			requests = append(requests, rb)
		}
	}
	n := 0
	for b.Loop() {
		if len(requests) == 0 {
			refill()
		}
		oa, err := services(s).ActivateOffline(acct, requests[0])
		if err != nil {
			b.Fatal(err)
		}
		requests = requests[1:]
		if _, err := offline.Verify([]byte(oa.Certificate), pub, "", now); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "certs/s")
}

// TestSeedBuildsBackfills: a store whose catalog predates builds gets the
// default builds on the next init, only for the platforms each product has.
func TestSeedBuildsBackfills(t *testing.T) {
	s := openStore(t, nil)
	ctx := context.Background()
	count := func() (n int) {
		t.Helper()
		if err := s.r.QueryRow("SELECT count(*) FROM builds WHERE product IN ('backup-exchange', 'backup-server')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(); got != 3+9 { // exchange: windows only; server: three platforms
		t.Fatalf("seeded builds = %d, want 12", got)
	}
	if _, err := s.w.Exec("DELETE FROM builds"); err != nil {
		t.Fatal(err)
	}
	if _, err := services(s).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 12 {
		t.Errorf("after re-seeding: %d builds, want 12", got)
	}
}
