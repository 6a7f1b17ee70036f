package offline

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var testNow = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

func testKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func testCertificate() *Certificate {
	return &Certificate{ActivationID: 7, ExpiresAt: "2027-01-15T10:00:00Z", Fingerprint: "fp-build-01",
		IssuedAt: "2026-01-15T10:00:00Z", LicenseKey: "7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", Machine: "build-01",
		MaxVersion: "7.9.4", Nonce: "AAAAAAAAAAAAAAAAAAAAAA", OS: "linux", Product: "backup-server",
		RM: "disabled", Version: "7.9.4"}
}

func mustSign(t testing.TB, priv ed25519.PrivateKey, c *Certificate) []byte {
	t.Helper()
	text, err := Sign(priv, c)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

func TestSignVerifyRoundTrip(t *testing.T) {
	priv := testKey(t, 1)
	text := mustSign(t, priv, testCertificate())
	if !bytes.HasPrefix(text, []byte("-----BEGIN LICENSECTL CERTIFICATE-----\n")) {
		t.Fatalf("envelope starts %q", text[:40])
	}
	c, err := Verify(text, []ed25519.PublicKey{pubOf(priv)}, "fp-build-01", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyID != KeyID(pubOf(priv)) || c.Machine != "build-01" || c.Format != CertificateFormat {
		t.Errorf("verified certificate = %+v", c)
	}
}

// The payload is canonical JSON: sorted keys, no spaces - what a map (whose
// keys encoding/json sorts) encodes to.
func TestPayloadIsCanonical(t *testing.T) {
	s, err := ParseCertificate(mustSign(t, testKey(t, 1), testCertificate()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(s.Payload, &m); err != nil {
		t.Fatal(err)
	}
	again, err := canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, s.Payload) {
		t.Errorf("payload is not canonical:\n got %s\nwant %s", s.Payload, again)
	}
	// A re-formatted payload is refused even before signatures are checked.
	var spaced bytes.Buffer
	json.Indent(&spaced, s.Payload, "", " ")
	body := append(spaced.Bytes(), s.Signature...)
	text := pem.EncodeToMemory(&pem.Block{Type: CertificateBlock, Bytes: body})
	if _, err := ParseCertificate(text); reason(err) != ReasonMalformed {
		t.Errorf("indented payload: %v", err)
	}
}

func reason(err error) Reason {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

// flip re-encodes the envelope with one bit of body byte i changed.
func flip(t *testing.T, text []byte, i int) []byte {
	t.Helper()
	block, _ := pem.Decode(text)
	body := bytes.Clone(block.Bytes)
	if i < 0 {
		i += len(body)
	}
	body[i] ^= 0x01
	return pem.EncodeToMemory(&pem.Block{Type: CertificateBlock, Bytes: body})
}

func TestVerifyFailures(t *testing.T) {
	priv, other := testKey(t, 1), testKey(t, 2)
	keys := []ed25519.PublicKey{pubOf(priv)}
	text := mustSign(t, priv, testCertificate())
	payloadLen := len(text) // any byte before the signature
	if s, err := ParseCertificate(text); err == nil {
		payloadLen = len(s.Payload)
	}
	for _, tc := range []struct {
		name        string
		text        []byte
		keys        []ed25519.PublicKey
		fingerprint string
		now         time.Time
		want        Reason
	}{
		{"payload byte flipped", flip(t, text, 20), keys, "", testNow, ReasonBadSignature},
		{"last payload byte flipped", flip(t, text, payloadLen-2), keys, "", testNow, ReasonBadSignature},
		{"signature byte flipped", flip(t, text, -1), keys, "", testNow, ReasonBadSignature},
		{"other key", text, []ed25519.PublicKey{pubOf(other)}, "", testNow, ReasonUnknownKey},
		{"expired", text, keys, "", time.Date(2027, 1, 15, 10, 0, 0, 0, time.UTC), ReasonExpired},
		{"wrong machine", text, keys, "fp-other", testNow, ReasonWrongMachine},
		{"not an envelope", []byte("hello"), keys, "", testNow, ReasonMalformed},
		{"truncated", []byte("-----BEGIN LICENSECTL CERTIFICATE-----\nAAAA\n-----END LICENSECTL CERTIFICATE-----\n"), keys, "", testNow, ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.text, tc.keys, tc.fingerprint, tc.now)
			if got := reason(err); got != tc.want {
				t.Errorf("Verify: %v (reason %q), want reason %q", err, got, tc.want)
			}
		})
	}
}

// After a rotation a file with both public keys verifies old and new
// certificates.
func TestRotatedKeys(t *testing.T) {
	old, cur := testKey(t, 1), testKey(t, 2)
	pemFile := append(PublicKeyPEM(pubOf(cur)), PublicKeyPEM(pubOf(old))...)
	keys, err := ParsePublicKeys(pemFile)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParsePublicKeys: %v %d", err, len(keys))
	}
	for _, priv := range []ed25519.PrivateKey{old, cur} {
		if _, err := Verify(mustSign(t, priv, testCertificate()), keys, "", testNow); err != nil {
			t.Error(err)
		}
	}
}

func TestPublicKeyPEMIsPKIX(t *testing.T) {
	// The DER prefix is the fixed RFC 8410 SubjectPublicKeyInfo header.
	block, _ := pem.Decode(PublicKeyPEM(pubOf(testKey(t, 3))))
	if block.Type != "PUBLIC KEY" || len(block.Bytes) != 44 {
		t.Fatalf("block %s of %d bytes", block.Type, len(block.Bytes))
	}
	if _, err := ParsePublicKeys([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil {
		t.Error("a non-Ed25519 key was accepted")
	}
}

func TestRequestRoundTrip(t *testing.T) {
	r, priv, err := NewRequest(rand.Reader, "7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault", "fp-1", "linux", "7.9.4", testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *r {
		t.Errorf("round trip: %+v != %+v", got, r)
	}
	pub, _ := got.PublicKey()
	if !pub.Equal(priv.Public()) {
		t.Error("machine key does not match")
	}
	r2, _, _ := NewRequest(rand.Reader, r.LicenseKey, "vault", "fp-1", "linux", "7.9.4", testNow)
	if r2.Nonce == r.Nonce {
		t.Error("two requests share a nonce")
	}
	for name, bad := range map[string]string{
		"unknown field": `{"format":"licensectl-activation-request","v":1,"email":"x@y"}`,
		"wrong version": `{"format":"licensectl-activation-request","v":2}`,
		"trailing data": string(b) + "{}",
	} {
		if _, err := ParseRequest([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestProof(t *testing.T) {
	priv := testKey(t, 4)
	p := &Proof{ActivationNonce: "AAAAAAAAAAAAAAAAAAAAAA", DeactivatedAt: "2026-02-01T00:00:00Z",
		Fingerprint: "fp-1", LicenseKey: "K", Nonce: "BBBBBBBBBBBBBBBBBBBBBB"}
	b, err := SignProof(priv, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyProof(pubOf(priv), got); err != nil {
		t.Fatal(err)
	}
	if err := VerifyProof(pubOf(testKey(t, 5)), got); err == nil {
		t.Error("proof verified with another machine's key")
	}
	got.Fingerprint = "fp-2"
	if err := VerifyProof(pubOf(priv), got); err == nil {
		t.Error("altered proof verified")
	}
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	s, err := LoadState(path)
	if err != nil || len(s.Activations) != 0 {
		t.Fatalf("LoadState(missing) = %+v, %v", s, err)
	}
	r, priv, _ := NewRequest(rand.Reader, "K", "m", "fp", "linux", "7.9.4", testNow)
	s.Add(r, priv)
	s.Add(r, priv) // a second request for the same activation replaces the first
	if err := SaveState(path, s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v", fi.Mode(), err)
	}
	s, err = LoadState(path)
	if err != nil || len(s.Activations) != 1 {
		t.Fatalf("LoadState = %+v, %v", s, err)
	}
	e := s.Find("K", "fp", r.Nonce)
	if k, err := e.PrivateKey(); err != nil || !k.Equal(priv) {
		t.Fatalf("private key did not survive: %v", err)
	}
	s.Remove("K", "fp", r.Nonce)
	if len(s.Activations) != 0 {
		t.Error("Remove kept the entry")
	}
}

// FuzzParseRequest: any input either parses into a request that survives a
// round trip, or fails with an error; never a panic.
func FuzzParseRequest(f *testing.F) {
	r, _, _ := NewRequest(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4", "vault", "fp-1", "linux", "7.9.4", testNow)
	good, _ := r.Marshal()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"licensectl-activation-request","v":1}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRequest(again)
		if err != nil || *r2 != *r {
			t.Fatalf("round trip changed the request: %v", err)
		}
	})
}

// FuzzParseCertificate: parsing never panics, and what parses re-encodes to
// the very payload it came from (one byte string per certificate).
func FuzzParseCertificate(f *testing.F) {
	text := mustSign(f, testKey(f, 1), testCertificate())
	f.Add(text)
	f.Add([]byte("-----BEGIN LICENSECTL CERTIFICATE-----\n-----END LICENSECTL CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN LICENSECTL CERTIFICATE-----\nAAAA\n-----END LICENSECTL CERTIFICATE-----\n"))
	f.Add(bytes.Replace(text, []byte("A"), []byte("B"), 1))
	f.Add([]byte("garbage"))
	keys := []ed25519.PublicKey{pubOf(testKey(f, 1))}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseCertificate(b)
		if err == nil {
			again, err := canonical(&s.Certificate)
			if err != nil || !bytes.Equal(again, s.Payload) {
				t.Fatalf("payload does not round-trip: %v", err)
			}
		}
		c, err := Verify(b, keys, "", testNow)
		if err == nil && c == nil {
			t.Fatal("Verify returned neither certificate nor error")
		}
		if err != nil && reason(err) == "" {
			t.Fatalf("Verify error without a reason: %v", err)
		}
	})
}

// BenchmarkSignVerify measures one certificate issued and verified.
func BenchmarkSignVerify(b *testing.B) {
	priv := testKey(b, 1)
	keys := []ed25519.PublicKey{pubOf(priv)}
	for b.Loop() {
		text, err := Sign(priv, testCertificate())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Verify(text, keys, "fp-build-01", testNow); err != nil {
			b.Fatal(err)
		}
	}
}
