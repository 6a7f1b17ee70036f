package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// TestValidateIsARead validates while another process holds the store's
// write lock: validation never waits for it (it runs on the read pool), and
// the machine's last seen time, queued meanwhile, is written once the lock
// is free - at most once a minute per activation.
func TestValidateIsARead(t *testing.T) {
	ctx := context.Background()
	clock := contract.NewClock(contract.Start())
	path := filepath.Join(t.TempDir(), "licensectl.db")
	s, err := Open(ctx, path, Options{Create: true, Clock: clock, LockWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc := services(s)
	defer svc.Close()
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a := actingAs(t, s, "a@example.com")
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-vm", Quantity: 1, Billing: "monthly"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := p.Licenses[0]
	act, err := svc.Activate(a, licensing.ActivationRequest{LicenseKey: key, Machine: "m", Fingerprint: "fp", OS: "windows", Version: "7.9.4"})
	if err != nil {
		t.Fatal(err)
	}
	lastSeen := func() time.Time {
		t.Helper()
		var sec int64
		if err := s.r.QueryRow("SELECT last_seen_at FROM activations WHERE id = ?", act.ID).Scan(&sec); err != nil {
			t.Fatal(err)
		}
		return time.Unix(sec, 0).UTC()
	}

	// Another process takes the write lock and keeps it.
	other, err := sql.Open("sqlite", dsn(path, "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("UPDATE accounts SET email = email WHERE 0"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	for range 3 {
		v, err := svc.ValidateLicense(a, key, "fp", "")
		if err != nil || !v.Valid {
			t.Fatalf("validate while the write lock is held: %+v %v", v, err)
		}
	}
	if _, err := svc.Heartbeat(a, act.ID); licensing.ErrorCode(err) != licensing.EUNAVAILABLE {
		t.Fatalf("a write while the lock is held: %v; want EUNAVAILABLE (the test's lock does not hold)", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushSeen(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := lastSeen(), contract.Start().Add(time.Hour); !got.Equal(want) {
		t.Fatalf("last seen %v after the flush; want %v", got, want)
	}

	// Seen again within the minute: not written again.
	clock.Add(30 * time.Second)
	if _, err := svc.ValidateLicense(a, key, "fp", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushSeen(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := lastSeen(), contract.Start().Add(time.Hour); !got.Equal(want) {
		t.Errorf("last seen %v after a validation 30 s later; want %v (at most once a minute)", got, want)
	}
	// A minute after the last write: written.
	clock.Add(31 * time.Second)
	if _, err := svc.ValidateLicense(a, key, "fp", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushSeen(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := lastSeen(), contract.Start().Add(time.Hour+61*time.Second); !got.Equal(want) {
		t.Errorf("last seen %v a minute later; want %v", got, want)
	}

	// Close writes what is queued.
	clock.Add(2 * time.Minute)
	if _, err := svc.ValidateLicense(a, key, "fp", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var sec int64
	if err := s2.r.QueryRow("SELECT last_seen_at FROM activations WHERE id = ?", act.ID).Scan(&sec); err != nil {
		t.Fatal(err)
	}
	if got, want := time.Unix(sec, 0).UTC(), contract.Start().Add(time.Hour+181*time.Second); !got.Equal(want) {
		t.Errorf("last seen %v after Close; want %v", got, want)
	}
}
