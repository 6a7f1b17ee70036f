package postgres

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// Many machines race through two replicas (two pools) for the last seat of a
// license: exactly one gets it, every other is refused with the seat count
// the winner left, and seats_used counts the activations exactly.
func TestRaceLastSeat(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := newAccount(t, s1, "a@example.com")
	const rounds, racers = 8, 16
	for i := range rounds {
		p, err := services(s1).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{
			{Product: "mbs-vm", Quantity: 1, Billing: licensing.BillingMonthly}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := p.Licenses[0] // 2 seats
		if _, err := services(s1).Activate(ctx, activationReq(key, "first")); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for r := range racers {
			s := []*Store{s1, s2}[r%2]
			wg.Go(func() {
				<-start
				_, errs[r] = services(s).Activate(ctx, activationReq(key, fmt.Sprintf("m%d", r)))
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case licensing.ErrorCode(err) != licensing.ECONFLICT || !strings.Contains(err.Error(), "no free seat on license "+key+": 2 of 2 used"):
				t.Fatalf("round %d: loser got %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d machines got the last seat", i, won)
		}
		used := count(t, s1, "SELECT seats_used FROM licenses WHERE key = $1", key)
		active := count(t, s1, "SELECT count(*) FROM activations a JOIN licenses l ON l.id = a.license_id WHERE l.key = $1", key)
		events := count(t, s1, "SELECT count(*) FROM audit WHERE action = 'activation.create' AND object = $1", key)
		if used != 2 || active != 2 || events != 2 {
			t.Fatalf("round %d: seats_used %d, %d activations, %d activation.create events; want 2 of each", i, used, active, events)
		}
	}
}

// One machine activating through both replicas at once takes one seat: the
// loser finds the winner's activation.
func TestRaceSameMachine(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := newAccount(t, s1, "a@example.com")
	for i := range 10 {
		p, err := services(s1).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 1}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := p.Licenses[0]
		var a1, a2 *licensing.Activation
		err1, err2 := race(
			func() (err error) { a1, err = services(s1).Activate(ctx, activationReq(key, "same")); return err },
			func() (err error) { a2, err = services(s2).Activate(ctx, activationReq(key, "same")); return err })
		if err1 != nil || err2 != nil {
			t.Fatalf("round %d: %v / %v", i, err1, err2)
		}
		if a1.ID != a2.ID || a1.Existing == a2.Existing {
			t.Fatalf("round %d: activations %+v and %+v, want one new and one existing", i, a1, a2)
		}
		if n := count(t, s1, "SELECT seats_used FROM licenses WHERE key = $1", key); n != 1 {
			t.Fatalf("round %d: seats_used %d, want 1", i, n)
		}
	}
}

// Replicas listing the signing keys of a new store at once make one key.
func TestRaceFirstSigningKey(t *testing.T) {
	s1, s2 := twoPools(t)
	var k1, k2 []licensing.SigningKey
	err1, err2 := race(
		func() (err error) { k1, err = services(s1).SigningKeys(t.Context()); return err },
		func() (err error) { k2, err = services(s2).SigningKeys(t.Context()); return err })
	if err1 != nil || err2 != nil {
		t.Fatalf("%v / %v", err1, err2)
	}
	if len(k1) != 1 || len(k2) != 1 || k1[0].ID != k2[0].ID {
		t.Fatalf("keys %+v / %+v, want the same single key", k1, k2)
	}
}

func activationReq(key, machine string) licensing.ActivationRequest {
	return licensing.ActivationRequest{LicenseKey: key, Machine: machine, Fingerprint: "fp-" + machine,
		OS: licensing.OSWindows, Version: "7.9.4"}
}

// A SQLite store with activations copies whole: the activations and seat
// counts, the suspension, the signing key (certificates issued before the
// move still verify, and a proof the machine signs later releases its seat),
// used proofs, builds, and activation ids that are never reused.
func TestCopyActivations(t *testing.T) {
	ctx := context.Background()
	clock := contract.NewClock(contract.Start())
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "src.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := services(src).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := services(src).CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	p, err := services(src).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 3}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	online, offlineKey, suspended := p.Licenses[0], p.Licenses[1], p.Licenses[2]
	if _, err := services(src).Activate(a, activationReq(online, "web-01")); err != nil {
		t.Fatal(err)
	}
	req, priv := offlineRequest(t, offlineKey, "vault", clock.Now())
	oa, err := services(src).ActivateOffline(a, req)
	if err != nil {
		t.Fatal(err)
	}
	// Released: its id is gone from the table but not from the audit log,
	// and the newest: the copy must not hand it out again.
	gone, err := services(src).Activate(a, activationReq(suspended, "old"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := services(src).Deactivate(a, licensing.DeactivateRequest{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := services(src).UpdateLicense(a, suspended, licensing.LicenseUpdate{Suspended: &on}); err != nil {
		t.Fatal(err)
	}

	_, url, drop := pgtest.NewSchema("lct_test")
	t.Cleanup(func() { drop() })
	dst := openURL(t, url, clock, true)
	snap, err := src.BeginSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Rollback()
	if _, err := dst.CopyFromSQLite(ctx, snap, nil); err != nil {
		t.Fatal(err)
	}

	for _, f := range []licensing.ActivationFilter{{}, {Offline: true}, {Machine: "WEB-01"}} {
		want, err := services(src).ListActivations(a, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := services(dst).ListActivations(a, f)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ListActivations(%+v) = %+v, %v; want %+v", f, got, err, want)
		}
	}
	wantKeys, _ := services(src).SigningKeys(ctx)
	gotKeys, err := services(dst).SigningKeys(ctx)
	if err != nil || !reflect.DeepEqual(gotKeys, wantKeys) {
		t.Errorf("signing keys %+v, %v; want %+v", gotKeys, err, wantKeys)
	}
	cert, err := offline.Verify([]byte(oa.Certificate), []ed25519.PublicKey{gotKeys[0].PublicKey}, "fp-vault", clock.Now())
	if err != nil {
		t.Fatalf("certificate issued before the copy: %v", err)
	}
	v, err := services(dst).ValidateLicense(a, suspended, "", "")
	if err != nil || v.Code != licensing.ValidSuspended {
		t.Errorf("suspended license validates as %+v, %v", v, err)
	}
	want, _ := services(src).Download(a, licensing.DownloadRequest{Key: online, OS: licensing.OSLinux})
	d, err := services(dst).Download(a, licensing.DownloadRequest{Key: online, OS: licensing.OSLinux})
	if err != nil || !reflect.DeepEqual(d, want) {
		t.Errorf("download after copy: %+v, %v; want %+v", d, err, want)
	}
	if _, err := services(dst).ReleaseOffline(a, proof(t, priv, cert.Nonce, offlineKey, clock.Now())); err != nil {
		t.Errorf("release with a proof after the copy: %v", err)
	}
	next, err := services(dst).Activate(a, activationReq(offlineKey, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if next.ID <= oa.ID || next.ID <= gone.ID {
		t.Errorf("activation id %d was given out already (up to %d)", next.ID, gone.ID)
	}
	if n := count(t, dst, "SELECT seats_used FROM licenses WHERE key = $1", offlineKey); n != 1 {
		t.Errorf("seats_used %d after release and activation, want 1", n)
	}
}

func offlineRequest(t *testing.T, key, machine string, now time.Time) ([]byte, ed25519.PrivateKey) {
	t.Helper()
	r, priv, err := offline.NewRequest(rand.Reader, key, machine, "fp-"+machine, licensing.OSLinux, "7.9.4", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b, priv
}

func proof(t *testing.T, priv ed25519.PrivateKey, activationNonce, key string, now time.Time) []byte {
	t.Helper()
	nonce, err := offline.NewNonce(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := offline.SignProof(priv, &offline.Proof{ActivationNonce: activationNonce, Fingerprint: "fp-vault",
		LicenseKey: key, Nonce: nonce, DeactivatedAt: now.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
