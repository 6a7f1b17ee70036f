package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// verify checks a message the way the Standard Webhooks specification
// describes, written from it independently of Sign: the signed content is
// "{id}.{timestamp}.{body}", the key the base64 after "whsec_", and the
// header a space-separated list of "v1,<base64>" signatures.
func verify(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, _ := strings.Cut(sig, ",")
		got, _ := base64.StdEncoding.DecodeString(b64)
		if version == "v1" && hmac.Equal(got, want) {
			return
		}
	}
	t.Fatalf("no valid v1 signature in %q", h.Get("webhook-signature"))
}

// TestSignSpecVector is the specification's own example (the reference
// libraries test it too).
func TestSignSpecVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil || got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", got, err)
	}
	if _, err := Sign("whsec_!!!", "x", 1, nil); err == nil {
		t.Fatal("a secret that is not base64 signs")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, SecretPrefix))
	if !strings.HasPrefix(a, SecretPrefix) || err != nil || len(key) != 32 || a == b {
		t.Fatalf("secrets %q %q (%v)", a, b, err)
	}
}

func TestForbidden(t *testing.T) {
	for addr, bad := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fd00:ec2::254": true, "100.100.100.200": true, "0.0.0.0": true,
		"::": true, "::ffff:127.0.0.1": true, "224.0.0.1": true, "255.255.255.255": true,
		"93.184.216.34": false, "8.8.8.8": false, "2606:4700:4700::1111": false, "172.32.0.1": false,
	} {
		if got := Forbidden(netip.MustParseAddr(addr)); (got != "") != bad {
			t.Errorf("Forbidden(%s) = %q", addr, got)
		}
	}
}

func TestSendSignsAndRefusesLoopback(t *testing.T) {
	secret := NewSecret()
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r.Header.Clone(), must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	m := Message{URL: srv.URL + "/hook", Secret: secret, ID: "42", Timestamp: time.Unix(1700000000, 0), Body: []byte(`{"id":42}`)}
	ctx := context.Background()

	// Not allowed: the connection is refused before anything is sent.
	strict := NewSender(Options{})
	if res := strict.Send(ctx, m); res.OK() || !strings.Contains(res.Err, "loopback") || got != nil {
		t.Fatalf("loopback without allow_private: %+v (received %v)", res, got != nil)
	}
	if err := strict.CheckURL(ctx, m.URL); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("CheckURL(loopback) = %v", err)
	}
	if err := strict.CheckURL(ctx, "http://localhost:1/x"); err == nil {
		t.Fatal("CheckURL(localhost) passed")
	}

	res := NewSender(Options{AllowPrivate: true}).Send(ctx, m)
	if !res.OK() || res.Code != http.StatusNoContent {
		t.Fatalf("allowed: %+v", res)
	}
	if got.Get("webhook-id") != "42" || got.Get("webhook-timestamp") != "1700000000" || string(body) != `{"id":42}` ||
		got.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v body %s", got, body)
	}
	verify(t, secret, got, body)
}

func TestSendAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	s := NewSender(Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	send := func(path string) Result {
		return s.Send(context.Background(), Message{URL: srv.URL + path, Secret: NewSecret(), ID: "1", Timestamp: time.Now()})
	}
	if res := send("/redirect"); res.OK() || res.Code != http.StatusFound {
		t.Errorf("a redirect was followed: %+v", res)
	}
	if res := send("/fail"); res.OK() || res.Code != 500 {
		t.Errorf("500: %+v", res)
	}
	if res := send("/slow"); res.OK() || res.Code != 0 || !strings.Contains(res.Err, "no answer within") {
		t.Errorf("slow: %+v", res)
	}
	srv.Close()
	if res := send("/"); res.OK() || res.Err != "connection refused" {
		t.Errorf("closed: %+v", res)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
