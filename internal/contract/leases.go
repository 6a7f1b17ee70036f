package contract

import (
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

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
