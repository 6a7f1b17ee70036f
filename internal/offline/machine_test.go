package offline

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testMachine(t *testing.T) *Machine {
	t.Helper()
	return &Machine{StatePath: filepath.Join(t.TempDir(), "offline", "state.json"), Rand: rand.Reader}
}

// certificateFor is what the connected side would sign for req.
func certificateFor(req *Request) *Certificate {
	c := testCertificate()
	c.LicenseKey, c.Machine, c.Fingerprint, c.OS, c.Version, c.Nonce = req.LicenseKey, req.Machine, req.Fingerprint, req.OS, req.Version, req.Nonce
	return c
}

// The request's private key is in the state file (0600) by the time the
// request exists, and it is the one the request's public key belongs to.
func TestMachineRequestSavesTheKeyFirst(t *testing.T) {
	m := testMachine(t)
	req, file, err := m.Request("7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault", "fp-1", "linux", "7.9.4", testNow)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseRequest(file)
	if err != nil || *parsed != *req {
		t.Fatalf("request file %s does not parse back (%v)", file, err)
	}
	if fi, err := os.Stat(m.StatePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi, err)
	}
	st, err := LoadState(m.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	e := st.Find(req.LicenseKey, req.Fingerprint, req.Nonce)
	if e == nil {
		t.Fatalf("state %+v has no entry for the request", st)
	}
	priv, err := e.PrivateKey()
	pub, _ := req.PublicKey()
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("saved key does not match the request's machine key (%v)", err)
	}
	if created := st.Activations[0].CreatedAt; created != "2026-01-15T10:00:00Z" {
		t.Errorf("created_at %q, want the clock's time", created)
	}
}

// A deactivation proof is signed with the request's machine key and names
// the activation; the key stays until Forget, and no second proof can be
// made after it.
func TestMachineDeactivate(t *testing.T) {
	m := testMachine(t)
	req, _, err := m.Request("7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault", "fp-1", "linux", "7.9.4", testNow)
	if err != nil {
		t.Fatal(err)
	}
	cert := certificateFor(req)
	d, err := m.Deactivate(cert, testNow.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProof(d.Proof)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := req.PublicKey()
	if err := VerifyProof(pub, p); err != nil {
		t.Fatalf("proof does not verify with the machine key: %v", err)
	}
	if p.ActivationNonce != req.Nonce || p.LicenseKey != req.LicenseKey || p.Fingerprint != "fp-1" ||
		p.DeactivatedAt != "2026-02-15T10:00:00Z" || p.Nonce == req.Nonce {
		t.Errorf("proof %+v does not name the activation", p)
	}
	if _, err := m.Deactivate(cert, testNow); err != nil {
		t.Fatalf("before Forget, a proof can be made again: %v", err)
	}
	if err := d.Forget(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Deactivate(cert, testNow); !errors.Is(err, ErrNoMachineKey) {
		t.Fatalf("after Forget: %v, want ErrNoMachineKey", err)
	}
}

// Another machine's certificate, or one for an older request of this
// machine, has no key here.
func TestMachineDeactivateNeedsItsOwnKey(t *testing.T) {
	m := testMachine(t)
	first, _, err := m.Request("7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault", "fp-1", "linux", "7.9.4", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Request("7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault", "fp-1", "linux", "7.9.4", testNow); err != nil {
		t.Fatal(err)
	}
	other, _, err := testMachine(t).Request("7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault-2", "fp-2", "linux", "7.9.4", testNow)
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]*Request{"replaced request": first, "other machine": other} {
		if _, err := m.Deactivate(certificateFor(req), testNow); !errors.Is(err, ErrNoMachineKey) {
			t.Errorf("%s: %v, want ErrNoMachineKey", name, err)
		}
	}
}

func TestCertificateVersions(t *testing.T) {
	c := testCertificate()
	if got := c.Versions(); got != "7.9.4 up to 7.9.4" {
		t.Errorf("Versions() = %q", got)
	}
	c.MaxVersion = ""
	if got := c.Versions(); got != "7.9.4" {
		t.Errorf("Versions() without a maximum = %q", got)
	}
}
