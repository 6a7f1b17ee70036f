package contract

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
)

// activationTests are the subtests of the activation capability; Run
// registers them.
func activationTests() []struct {
	name string
	fn   func(*testing.T, *env)
} {
	return []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"ActivateSeats", testActivateSeats},
		{"ActivateRefusals", testActivateRefusals},
		{"ActivateExpiry", testActivateExpiry},
		{"Deactivate", testDeactivate},
		{"ValidateCodes", testValidateCodes},
		{"RMStates", testRMStates},
		{"LatestDownload", testLatestDownload},
		{"Builds", testBuilds},
		{"DownloadEntitlement", testDownloadEntitlement},
		{"OpenDownload", testOpenDownload},
		{"OfflineRoundTrip", testOfflineRoundTrip},
		{"OfflineProofChecks", testOfflineProofChecks},
		{"SigningKeyRotation", testSigningKeyRotation},
		{"OfflineNotLeased", testOfflineNotLeased},
	}
}

// activations returns the backend's activation service.
func (e *env) activations() licensing.ActivationService { return e.svc }

func (e *env) buyOne(ctx context.Context, l licensing.BuyLine, trial bool) string {
	e.t.Helper()
	r := req(l)
	r.Trial = trial
	return e.buy(ctx, r).Licenses[0]
}

func machine(key, name, os, version string) licensing.ActivationRequest {
	return licensing.ActivationRequest{LicenseKey: key, Machine: name, Fingerprint: "fp-" + name, OS: os, Version: version}
}

func (e *env) activate(ctx context.Context, r licensing.ActivationRequest) *licensing.Activation {
	e.t.Helper()
	a, err := e.activations().Activate(ctx, r)
	if err != nil {
		e.t.Fatalf("Activate(%+v): %v", r, err)
	}
	return a
}

func (e *env) seatsUsed(ctx context.Context, key string) (int, string, string) {
	e.t.Helper()
	l := e.license(ctx, key)
	return l.SeatsUsed, l.Status, l.Usage
}

func testActivateSeats(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	vm := e.buyOne(ctx, billed(line("mbs-vm", 1), "monthly"), false)
	if n, status, usage := e.seatsUsed(ctx, vm); n != 0 || status != licensing.StatusNotActivated || usage != licensing.UsageUnused {
		t.Fatalf("fresh license: %d %s %s", n, status, usage)
	}
	a := e.activate(ctx, machine(vm, "hv-01", licensing.OSWindows, "7.9.4"))
	if a.Mode != licensing.ModeOnline || a.Existing || a.ActivatedAt != Start() {
		t.Errorf("activation = %+v", a)
	}
	e.clock.Add(time.Hour)
	again := e.activate(ctx, machine(vm, "hv-01", licensing.OSWindows, "7.9.4"))
	if again.ID != a.ID || !again.Existing || again.LastSeenAt != Start().Add(time.Hour) || again.ActivatedAt != Start() {
		t.Errorf("re-activation = %+v, want the same activation seen again", again)
	}
	if n, status, usage := e.seatsUsed(ctx, vm); n != 1 || status != licensing.StatusActivated || usage != licensing.UsageUsed {
		t.Fatalf("after one activation: %d %s %s", n, status, usage)
	}
	e.activate(ctx, machine(vm, "hv-02", licensing.OSWindows, "7.9.4"))
	_, err := svc.Activate(ctx, machine(vm, "hv-03", licensing.OSWindows, "7.9.4"))
	wantCode(t, err, licensing.ECONFLICT, "third machine on a 2-seat license")
	list, err := svc.ListActivations(ctx, licensing.ActivationFilter{LicenseKey: vm})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListActivations = %d, %v", len(list), err)
	}
	if n, _, _ := e.seatsUsed(ctx, vm); n != 2 {
		t.Errorf("seats_used = %d, want 2", n)
	}
	if got := e.keys(ctx, licensing.LicenseFilter{Usage: licensing.UsageUsed}); len(got) != 1 || got[0] != vm {
		t.Errorf("used licenses = %v", got)
	}
}

func testActivateRefusals(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	exch := e.buyOne(ctx, line("backup-exchange", 1), false)
	desk := e.buyOne(ctx, line("backup-desktop", 1), false)
	before := e.state(ctx)
	for _, os := range []string{licensing.OSMacOS, licensing.OSLinux} {
		_, err := svc.Activate(ctx, machine(exch, "m", os, "7.9.4"))
		wantCode(t, err, licensing.ECONFLICT, os+" on exchange")
	}
	if _, err := e.svc.UpdateLicense(ctx, desk, licensing.LicenseUpdate{Suspended: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	before.events++ // the suspension itself
	_, err := svc.Activate(ctx, machine(desk, "m", licensing.OSMacOS, "7.9.4"))
	wantCode(t, err, licensing.ECONFLICT, "suspended")
	for _, r := range []licensing.ActivationRequest{
		machine(desk, "", licensing.OSWindows, "7.9.4"),
		machine(desk, "m", "beos", "7.9.4"),
		machine(desk, "m", licensing.OSWindows, "seven"),
		machine("not-a-key", "m", licensing.OSWindows, "7.9.4"),
	} {
		_, err := svc.Activate(ctx, r)
		wantCode(t, err, licensing.EINVALID, "bad request")
	}
	_, err = svc.Activate(ctx, machine("00000-00000-00000-00000-00000", "m", licensing.OSWindows, "7.9.4"))
	wantCode(t, err, licensing.ENOTFOUND, "unknown key")
	if after := e.state(ctx); after != before {
		t.Errorf("refusals changed something: %+v -> %+v", before, after)
	}
	if n, _, _ := e.seatsUsed(ctx, desk); n != 0 {
		t.Errorf("seats_used = %d after refusals", n)
	}
	if _, err := e.svc.UpdateLicense(ctx, desk, licensing.LicenseUpdate{Suspended: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	e.activate(ctx, machine(desk, "m", licensing.OSMacOS, "7.9.4"))
}

func testActivateExpiry(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	sub := e.buyOne(ctx, billed(line("mbs-server", 1), "monthly"), false)
	trial := e.buyOne(ctx, line("backup-server", 1), true)
	e.activate(ctx, machine(sub, "a", licensing.OSLinux, "7.9.4"))
	e.clock.Add(40 * 24 * time.Hour)
	for _, key := range []string{sub, trial} {
		_, err := svc.Activate(ctx, machine(key, "b", licensing.OSLinux, "7.9.4"))
		wantCode(t, err, licensing.ECONFLICT, "expired "+key)
	}
	// The machine that holds a seat cannot re-activate an expired license either.
	_, err := svc.Activate(ctx, machine(sub, "a", licensing.OSLinux, "7.9.4"))
	wantCode(t, err, licensing.ECONFLICT, "re-activation of an expired license")
}

func testDeactivate(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	vm := e.buyOne(ctx, billed(line("mbs-vm", 1), "annual"), false)
	a := e.activate(ctx, machine(vm, "a", licensing.OSWindows, "7.9.4"))
	e.activate(ctx, machine(vm, "b", licensing.OSWindows, "7.9.4"))
	if got, err := svc.Deactivate(ctx, licensing.DeactivateRequest{ID: a.ID}); err != nil || got.Machine != "a" {
		t.Fatalf("Deactivate(id) = %+v, %v", got, err)
	}
	_, err := svc.Deactivate(ctx, licensing.DeactivateRequest{ID: a.ID})
	wantCode(t, err, licensing.ENOTFOUND, "released twice")
	if _, err := svc.Deactivate(ctx, licensing.DeactivateRequest{LicenseKey: vm, Fingerprint: "fp-b"}); err != nil {
		t.Fatal(err)
	}
	if n, status, _ := e.seatsUsed(ctx, vm); n != 0 || status != licensing.StatusNotActivated {
		t.Errorf("after releases: %d %s", n, status)
	}
	// Another account cannot release (or see) this account's activations.
	b := e.activate(ctx, machine(vm, "c", licensing.OSWindows, "7.9.4"))
	other := e.account("other@example.com")
	_, err = svc.Deactivate(other, licensing.DeactivateRequest{ID: b.ID})
	wantCode(t, err, licensing.ENOTFOUND, "other account")
	if list, _ := svc.ListActivations(other, licensing.ActivationFilter{}); len(list) != 0 {
		t.Errorf("other account sees %d activations", len(list))
	}
}

func testValidateCodes(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	old := e.buyOne(ctx, line("backup-desktop", 1), false) // bought 2025-03-10, no maintenance
	srv := e.buyOne(ctx, line("backup-server", 1), false)
	vm := e.buyOne(ctx, billed(line("mbs-vm", 1), "monthly"), false)
	check := func(key, fp, version, want string) {
		t.Helper()
		v, err := svc.ValidateLicense(ctx, key, fp, version)
		if err != nil {
			t.Fatalf("ValidateLicense(%s, %s, %s): %v", key, fp, version, err)
		}
		if v.Code != want || v.Valid != (want == licensing.ValidValid) || v.Message == "" {
			t.Errorf("ValidateLicense(%s, %q, %q) = %s (%s), want %s", key, fp, version, v.Code, v.Message, want)
		}
	}
	check(srv, "", "", licensing.ValidValid)
	check("00000-00000-00000-00000-00000", "", "", licensing.ValidNotFound)
	check(srv, "fp-a", "", licensing.ValidNoMachine)
	e.activate(ctx, machine(srv, "a", licensing.OSLinux, "7.5.0"))
	check(srv, "fp-a", "", licensing.ValidValid)
	check(srv, "fp-b", "", licensing.ValidTooManyMachines)
	e.activate(ctx, machine(vm, "a", licensing.OSWindows, "7.9.4"))
	check(vm, "fp-b", "", licensing.ValidFingerprintMismatch)
	// Builds up to 7.5.0 (2024-09-02) predate the purchase; 7.8.0 does not.
	check(old, "", "7.5.0", licensing.ValidValid)
	check(old, "", "7.8.0", licensing.ValidMaintenanceExpired)
	check(srv, "", "7.8.0", licensing.ValidMaintenanceExpired)
	if _, err := e.svc.UpdateLicense(ctx, srv, licensing.LicenseUpdate{Suspended: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check(srv, "fp-a", "", licensing.ValidSuspended)
	e.clock.Add(40 * 24 * time.Hour)
	check(vm, "fp-a", "", licensing.ValidExpired)
	_, err := svc.ValidateLicense(ctx, "garbage", "", "")
	wantCode(t, err, licensing.EINVALID, "malformed key")
	for code, want := range map[string]string{licensing.ValidValid: "", licensing.ValidNotFound: licensing.ENOTFOUND,
		licensing.ValidNoMachine: licensing.ENOTFOUND, licensing.ValidFingerprintMismatch: licensing.ENOTFOUND,
		licensing.ValidExpired: licensing.ECONFLICT, licensing.ValidSuspended: licensing.ECONFLICT,
		licensing.ValidTooManyMachines: licensing.ECONFLICT, licensing.ValidMaintenanceExpired: licensing.ECONFLICT} {
		if got := licensing.ValidationErrorCode(code); got != want {
			t.Errorf("ValidationErrorCode(%s) = %q, want %q", code, got, want)
		}
	}
}

func testRMStates(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	vm := e.buyOne(ctx, billed(line("mbs-vm", 1), "monthly"), false)
	e.activate(ctx, machine(vm, "new", licensing.OSWindows, "5.10.0"))
	e.activate(ctx, machine(vm, "old", licensing.OSWindows, "5.1.9"))
	rm := func() map[string]string {
		list, err := svc.ListActivations(ctx, licensing.ActivationFilter{LicenseKey: vm})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, a := range list {
			out[a.Machine] = a.RM
		}
		return out
	}
	if got := rm(); got["new"] != licensing.RMDisabled || got["old"] != licensing.RMUnsupported {
		t.Errorf("RM before allow = %v", got)
	}
	if _, err := e.svc.UpdateLicense(ctx, vm, licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if got := rm(); got["new"] != licensing.RMEnabled || got["old"] != licensing.RMUnsupported {
		t.Errorf("RM after allow = %v", got)
	}
}

func testLatestDownload(t *testing.T, e *env) {
	ctx := e.account("ops@example.com")
	old := e.buyOne(ctx, line("backup-desktop", 1), false) // 2025-03-10: after 7.5.0, before 7.8.0
	sub := e.buyOne(ctx, billed(line("mbs-desktop", 1), "annual"), false)
	e.clock.Set(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	d, err := e.svc.Download(ctx, licensing.DownloadRequest{Key: old, OS: licensing.OSLinux})
	if err != nil || d.Version != "7.5.0" || d.Package != "deb" || d.Rule != licensing.RuleMaintenanceCutoff || d.Reason == "" {
		t.Fatalf("LatestDownload(lifetime) = %+v, %v", d, err)
	}
	d, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: sub, OS: licensing.OSMacOS})
	if err != nil || d.Version != "7.9.4" || d.Rule != licensing.RuleNewest {
		t.Fatalf("LatestDownload(subscription) = %+v, %v", d, err)
	}
	_, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: old})
	wantCode(t, err, licensing.EINVALID, "several platforms, no --os")
}

// offlineMachine is the offline side of the round trip: a request and the
// machine key that stays behind.
func offlineRequest(t *testing.T, key, name string, now time.Time) ([]byte, *offline.Request, ed25519.PrivateKey) {
	t.Helper()
	r, priv, err := offline.NewRequest(rand.Reader, key, name, "fp-"+name, licensing.OSLinux, "7.9.4", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b, r, priv
}

func publicKeys(t *testing.T, svc licensing.ActivationService) []ed25519.PublicKey {
	t.Helper()
	keys, err := svc.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []ed25519.PublicKey
	for _, k := range keys {
		out = append(out, ed25519.PublicKey(k.PublicKey))
	}
	return out
}

func proofFor(t *testing.T, priv ed25519.PrivateKey, cert *offline.Certificate, now time.Time) []byte {
	t.Helper()
	nonce, err := offline.NewNonce(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := offline.SignProof(priv, &offline.Proof{ActivationNonce: cert.Nonce, Fingerprint: cert.Fingerprint,
		LicenseKey: cert.LicenseKey, Nonce: nonce, DeactivatedAt: now.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testOfflineRoundTrip(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	key := e.buyOne(ctx, line("backup-server", 1), false)
	reqFile, _, priv := offlineRequest(t, key, "vault", e.clock.Now())
	oa, err := svc.ActivateOffline(ctx, reqFile)
	if err != nil {
		t.Fatal(err)
	}
	if oa.Mode != licensing.ModeOffline || oa.Machine != "vault" {
		t.Errorf("offline activation = %+v", oa.Activation)
	}
	if n, status, _ := e.seatsUsed(ctx, key); n != 1 || status != licensing.StatusActivated {
		t.Errorf("after offline activation: %d %s", n, status)
	}
	keys := publicKeys(t, svc)
	cert, err := offline.Verify([]byte(oa.Certificate), keys, "fp-vault", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cert.LicenseKey != key || cert.Product != "backup-server" || cert.ActivationID != oa.ID ||
		cert.ExpiresAt != Start().Add(licensing.CertificateValidity).Format(time.RFC3339) {
		t.Errorf("certificate = %+v", cert)
	}
	// The same request again: the same activation and a fresh certificate.
	again, err := svc.ActivateOffline(ctx, reqFile)
	if err != nil || again.ID != oa.ID || !again.Existing {
		t.Fatalf("repeated request = %+v, %v", again, err)
	}
	// A second machine is refused: one seat.
	other, _, _ := offlineRequest(t, key, "other", e.clock.Now())
	_, err = svc.ActivateOffline(ctx, other)
	wantCode(t, err, licensing.ECONFLICT, "offline activation without a free seat")
	_, err = svc.ActivateOffline(ctx, []byte(`{"format":"nope"}`))
	wantCode(t, err, licensing.EINVALID, "malformed request")

	// Without the proof an offline activation is released only by force.
	_, err = svc.Deactivate(ctx, licensing.DeactivateRequest{ID: oa.ID})
	wantCode(t, err, licensing.ECONFLICT, "offline deactivate without --force")
	proof := proofFor(t, priv, cert, e.clock.Now())
	released, err := svc.ReleaseOffline(ctx, proof)
	if err != nil || released.ID != oa.ID {
		t.Fatalf("ReleaseOffline = %+v, %v", released, err)
	}
	if n, status, _ := e.seatsUsed(ctx, key); n != 0 || status != licensing.StatusNotActivated {
		t.Errorf("after release: %d %s", n, status)
	}
	_, err = svc.ReleaseOffline(ctx, proof)
	wantCode(t, err, licensing.ECONFLICT, "proof used twice")
}

func testOfflineProofChecks(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	key := e.buyOne(ctx, line("backup-server", 1), false)
	reqFile, _, priv := offlineRequest(t, key, "vault", e.clock.Now())
	oa, err := svc.ActivateOffline(ctx, reqFile)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := offline.ParseCertificate([]byte(oa.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	cert := &signed.Certificate
	// A proof signed by any other key is refused as unauthorized.
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	_, err = svc.ReleaseOffline(ctx, proofFor(t, forger, cert, e.clock.Now()))
	wantCode(t, err, licensing.EUNAUTHORIZED, "proof signed by another key")
	// A proof of an earlier activation of the same machine does not release a later one.
	stale := *cert
	stale.Nonce, _ = offline.NewNonce(rand.Reader)
	_, err = svc.ReleaseOffline(ctx, proofFor(t, priv, &stale, e.clock.Now()))
	wantCode(t, err, licensing.ECONFLICT, "proof of an earlier activation")
	_, err = svc.ReleaseOffline(ctx, bytes.Replace(proofFor(t, priv, cert, e.clock.Now()), []byte(`"v": 1`), []byte(`"v": 2`), 1))
	wantCode(t, err, licensing.EINVALID, "proof of another format version")
	if n, _, _ := e.seatsUsed(ctx, key); n != 1 {
		t.Errorf("refused proofs freed the seat: seats_used %d", n)
	}
	// The forced release of a lost machine is audited as such.
	if _, err := svc.Deactivate(ctx, licensing.DeactivateRequest{ID: oa.ID, Force: true}); err != nil {
		t.Fatal(err)
	}
	evs := e.audit(ctx, licensing.AuditFilter{Action: "activation.delete"})
	if len(evs) != 1 || !bytes.Contains(evs[0].Details, []byte(`"released_by":"forced"`)) {
		t.Errorf("audit of the forced release = %+v", evs)
	}
}

func testSigningKeyRotation(t *testing.T, e *env) {
	svc := e.activations()
	ctx := e.account("ops@example.com")
	first := publicKeys(t, svc)
	if again := publicKeys(t, svc); len(first) != 1 || !first[0].Equal(again[0]) {
		t.Fatalf("signing key not stable: %d keys", len(first))
	}
	key := e.buyOne(ctx, line("backup-server", 1), false)
	reqFile, _, _ := offlineRequest(t, key, "vault", e.clock.Now())
	oa, err := svc.ActivateOffline(ctx, reqFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.RotateSigningKey(ctx)
	if err != nil || !k.Current || k.ID == offline.KeyID(first[0]) {
		t.Fatalf("RotateSigningKey = %+v, %v", k, err)
	}
	all, err := svc.SigningKeys(ctx)
	if err != nil || len(all) != 2 || !all[0].Current || all[1].Current || all[1].RetiredAt == nil {
		t.Fatalf("SigningKeys after rotation = %+v, %v", all, err)
	}
	// The old certificate verifies with the old key only.
	if _, err := offline.Verify([]byte(oa.Certificate), first, "", e.clock.Now()); err != nil {
		t.Errorf("old certificate with the old key: %v", err)
	}
	if _, err := offline.Verify([]byte(oa.Certificate), []ed25519.PublicKey{all[0].PublicKey}, "", e.clock.Now()); err == nil {
		t.Error("old certificate verified with the new key")
	}
	// New certificates are signed with the new key.
	renewed, err := svc.ActivateOffline(ctx, reqFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := offline.Verify([]byte(renewed.Certificate), []ed25519.PublicKey{all[0].PublicKey}, "", e.clock.Now())
	if err != nil || c.KeyID != k.ID {
		t.Errorf("renewed certificate: %+v, %v", c, err)
	}
}
