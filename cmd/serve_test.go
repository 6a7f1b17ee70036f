package cmd

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// SIGTERM while requests are in flight: the server stops accepting, every
// request already sent is answered in full, and serve exits 0.
func TestServeGracefulShutdownLosesNoRequest(t *testing.T) {
	db := setupStore(t)
	io0, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io0, "--db", db, "-q", "licenses", "buy", "--product", "backup-server", "--quantity", "20000"); code != 0 {
		t.Fatalf("buy: %d %s", code, errOut)
	}
	io1, _, out, _ := TestIO()
	if code := run(t, context.Background(), io1, "--db", db, "accounts", "token", "create", "-o", "json"); code != 0 {
		t.Fatal("token create failed")
	}
	var tok struct{ Token string }
	json.Unmarshal(out.Bytes(), &tok)

	addrFile := filepath.Join(t.TempDir(), "addr")
	sio, _, _, serveLog := TestIO()
	exited := make(chan int, 1)
	go func() {
		exited <- run(t, context.Background(), sio, "--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
	}
	if addr == "" {
		t.Fatal("server did not start")
	}
	const n = 6
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /v1/licenses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok.Token)
		conns[i] = c
	}
	time.Sleep(20 * time.Millisecond)
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)

	// Read every response at once: a client reading one stream after another
	// would hold the others' connections (the store has a few read
	// connections, each held by a streaming list until its client reads).
	errs := make(chan error, n)
	for i, c := range conns {
		go func() {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- fmt.Errorf("request %d lost: %v", i, err)
				return
			}
			var ls []json.RawMessage
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || json.Unmarshal(body, &ls) != nil || len(ls) != 20000 {
				errs <- fmt.Errorf("request %d: status %d, %d bytes, %d licenses", i, resp.StatusCode, len(body), len(ls))
				return
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, serveLog)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(serveLog.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log: %s", serveLog)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

// serve --tls-cert/--tls-key answers over HTTPS with that certificate.
func TestServeTLS(t *testing.T) {
	db := setupStore(t)
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "licensectl test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	addrFile := filepath.Join(dir, "addr")
	sio, _, _, serveLog := TestIO()
	exited := make(chan int, 1)
	go func() {
		exited <- run(t, ctx, sio, "--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--tls-cert", certFile, "--tls-key", keyFile)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
	}
	pool := x509.NewCertPool()
	pool.AddCert(tmpl)
	parsed, _ := x509.ParseCertificate(der)
	pool.AddCert(parsed)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("https: %v (log %s)", err, serveLog)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("status %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

// serve runs the renewals engine on its schedule: a monthly subscription
// bought at T0 is renewed when the server's clock is past its end.
func TestServeRunsRenewalsOnSchedule(t *testing.T) {
	db := setupStore(t)
	t0 := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	at := func(when time.Time, args ...string) (int, string, string) {
		io, _, out, errOut := TestIO()
		code := Execute(context.Background(), BuildInfo{Version: "test"}, licensing.FixedClock(when), args, io)
		return code, out.String(), errOut.String()
	}
	if code, _, errOut := at(t0, "--db", db, "-q", "licenses", "buy", "--product", "mbs-server", "--billing", "monthly"); code != 0 {
		t.Fatalf("buy: %s", errOut)
	}
	later := t0.AddDate(0, 1, 5)
	ctx, cancel := context.WithCancel(context.Background())
	addrFile := filepath.Join(t.TempDir(), "addr")
	sio, _, _, serveLog := TestIO()
	exited := make(chan int, 1)
	go func() {
		exited <- Execute(ctx, BuildInfo{Version: "test"}, licensing.FixedClock(later),
			[]string{"--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--renewals-every", "50ms"}, sio)
	}()
	var expires string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, out, _ := at(later, "--db", db, "licenses", "list", "-o", "csv", "--no-headers")
		if strings.Contains(out, "2026-03-15T10:00:00Z") {
			expires = "renewed"
			break
		}
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("serve exited %d: %s", code, serveLog)
	}
	if expires != "renewed" {
		t.Fatalf("subscription not renewed by the schedule; log:\n%s", serveLog)
	}
	if !strings.Contains(serveLog.String(), `"msg":"renewals run"`) {
		t.Fatalf("no renewals run logged:\n%s", serveLog)
	}
	// Later scheduled runs for the same date renewed nothing twice.
	_, out, _ := at(later, "--db", db, "audit", "list", "--action", "renewal.", "-o", "json")
	if n := strings.Count(out, `"action":"renewal.renew"`); n != 1 {
		t.Fatalf("%d renewal events, want 1:\n%s", n, out)
	}
}
