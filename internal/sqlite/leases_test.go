package sqlite

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// The server's schedule sweeps expired leases by itself: the seat count
// and the license's status are right without another activation.
func TestSweepLeasesEvery(t *testing.T) {
	clock := contract.NewClock(contract.Start())
	s := openStore(t, clock)
	svc := services(s)
	if _, err := svc.CreateAccount(context.Background(), "ci@example.com"); err != nil {
		t.Fatal(err)
	}
	ctx := licensing.WithAccount(context.Background(), "ci@example.com")
	p, err := svc.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := p.Licenses[0]
	if _, err := svc.Activate(ctx, licensing.ActivationRequest{LicenseKey: key, Machine: "r", Fingerprint: "fp",
		OS: licensing.OSLinux, Version: "7.5.0", LeaseSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if d, err := svc.GetLicense(ctx, key); err != nil || d.SeatsUsed != 1 {
		t.Fatalf("before the sweep the expired lease still counts: %+v %v", d, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.SweepLeasesEvery(runCtx, 10*time.Millisecond, slog.New(slog.DiscardHandler)); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := svc.GetLicense(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if d.SeatsUsed == 0 && d.Status == licensing.StatusNotActivated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep did not release the expired lease: %+v", d.License)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
}
