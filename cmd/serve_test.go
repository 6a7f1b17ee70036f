package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	readers := make([]*bufio.Reader, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A first request on the connection proves the server has accepted
		// it: a connection still in the listen backlog when the listener
		// closes is reset by the kernel, as with any server, and is no
		// in-flight request (a client retries it).
		readers[i] = bufio.NewReader(c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Fprintf(c, "GET /v1/licenses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok.Token)
		conns[i] = c
	}
	time.Sleep(100 * time.Millisecond)
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)

	// Read every response at once: a client reading one stream after another
	// would hold the others' connections (the store has a few read
	// connections, each held by a streaming list until its client reads).
	errs := make(chan error, n)
	for i, c := range conns {
		go func() {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(readers[i], nil)
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
	sio, _, _, _ := TestIO()
	serveLog := &lockedBuffer{}
	sio.ErrOut = serveLog // read while serve writes it
	exited := make(chan int, 1)
	go func() {
		exited <- Execute(ctx, BuildInfo{Version: "test"}, licensing.FixedClock(later),
			[]string{"--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--renewals-every", "50ms"}, sio)
	}()
	var expires string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, out, _ := at(later, "--db", db, "licenses", "list", "-o", "csv", "--no-headers")
		// The run commits before it logs: wait for both.
		if strings.Contains(out, "2026-03-15T10:00:00Z") && strings.Contains(serveLog.String(), `"msg":"renewals run"`) {
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

// startServe runs serve with args until ctx ends; it returns the address
// once serve wrote it, and a channel with the exit code.
func startServe(t *testing.T, ctx context.Context, db string, args ...string) (string, chan int, *bytes.Buffer) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	sio, _, _, serveLog := TestIO()
	exited := make(chan int, 1)
	go func() {
		exited <- run(t, ctx, sio, append([]string{"--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile}, args...)...)
	}()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(addrFile); len(b) > 0 {
			return strings.TrimSpace(string(b)), exited, serveLog
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited %d: %s", code, serveLog)
		default:
		}
	}
	t.Fatal("serve did not start")
	return "", nil, nil
}

// A rate of requests must be above 0 (exit 2 at start, nothing listening);
// below 1 works: --rate 0.5 answers one request, then asks to wait 2 s.
func TestServeRate(t *testing.T) {
	db := setupStore(t)
	for _, rate := range []string{"0", "-1", "NaN", "+Inf"} {
		io, _, _, errOut := TestIO()
		if code := run(t, context.Background(), io, "--db", db, "serve", "--addr", "127.0.0.1:0", "--rate", rate); code != 2 {
			t.Fatalf("--rate %s: exit %d: %s", rate, code, errOut)
		}
		if !strings.Contains(errOut.String(), "error: --rate") || strings.Contains(errOut.String(), "listening") {
			t.Fatalf("--rate %s: %s", rate, errOut)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, exited, serveLog := startServe(t, ctx, db, "--rate", "0.5")
	var codes []string
	for range 2 {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("Retry-After")))
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("serve exited %d: %s", code, serveLog)
	}
	if fmt.Sprint(codes) != "[200  429 2]" {
		t.Fatalf("--rate 0.5: %v", codes)
	}
}

// A bad TLS certificate or key is refused at start with exit 2 and a clear
// message, before anything listens.
func TestServeBadTLSRefusedBeforeListening(t *testing.T) {
	db := setupStore(t)
	dir := t.TempDir()
	writePair := func(name string, notBefore, notAfter time.Time) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: notBefore, NotAfter: notAfter}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		cert, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
		return cert, keyFile
	}
	now := time.Now()
	goodCert, goodKey := writePair("good", now.Add(-time.Hour), now.Add(time.Hour))
	_, otherKey := writePair("other", now.Add(-time.Hour), now.Add(time.Hour))
	oldCert, oldKey := writePair("old", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o600)
	for _, c := range []struct {
		cert, key, want string
	}{
		{goodCert, otherKey, "private key does not match public key"},
		{goodCert, filepath.Join(dir, "missing.key"), "no such file"},
		{garbage, goodKey, "cannot use TLS certificate"},
		{oldCert, oldKey, "expired on"},
	} {
		addrFile := filepath.Join(t.TempDir(), "addr")
		io, _, _, errOut := TestIO()
		code := run(t, context.Background(), io, "--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile,
			"--tls-cert", c.cert, "--tls-key", c.key)
		if code != 2 || !strings.Contains(errOut.String(), c.want) || !strings.HasPrefix(errOut.String(), "error: ") ||
			strings.Contains(errOut.String(), `"listening"`) {
			t.Errorf("%s + %s: exit %d: %s", filepath.Base(c.cert), filepath.Base(c.key), code, errOut)
		}
		if _, err := os.Stat(addrFile); err == nil {
			t.Errorf("%s + %s: an address was written", filepath.Base(c.cert), filepath.Base(c.key))
		}
	}
}

// mountTmpfs mounts a small tmpfs for a real full disk (root only).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("SKIP: a full-disk test needs to mount a tmpfs (run as root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillDisk writes a file in dir until the disk is full and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for len(buf) > 0 {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			buf = buf[:len(buf)/2]
		}
	}
	return path
}

// serve on a real full disk (a tmpfs). A store nobody has open cannot even
// be read (WAL mode needs room for its -shm file): serve says so clearly
// instead of "disk I/O error (4874)". A store that opens (another process
// holds its -shm) is served: serve warns, reads work, /readyz answers 503
// until the disk has room again.
func TestServeOnFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "4M")
	t.Setenv("LICENSECTL_ACCOUNT", "ops@example.com")
	db := filepath.Join(dir, "full.db")
	for _, args := range [][]string{{"init"}, {"accounts", "create", "ops@example.com"}} {
		io, _, _, errOut := TestIO()
		if code := run(t, context.Background(), io, append([]string{"--db", db, "-q"}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	io1, _, out, _ := TestIO()
	if code := run(t, context.Background(), io1, "--db", db, "accounts", "token", "create", "-o", "json"); code != 0 {
		t.Fatal("token create failed")
	}
	var tok struct{ Token string }
	json.Unmarshal(out.Bytes(), &tok)
	filler := fillDisk(t, dir)

	io2, _, _, errOut := TestIO()
	code := run(t, context.Background(), io2, "--db", db, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut.String(), "error: cannot open the store "+db+": the disk is full or failing") ||
		!strings.Contains(errOut.String(), "hint: free space on the disk") || strings.Contains(errOut.String(), "listening") {
		t.Fatalf("serve on a full disk: exit %d: %s", code, errOut)
	}

	// Another process (here: this one) has the store open, so its -shm exists.
	os.Remove(filler)
	holder, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var n int
	if err := holder.QueryRow("SELECT count(*) FROM accounts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	filler = fillDisk(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	addr, exited, serveLog := startServe(t, ctx, db)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ready, body := get("/readyz")
	list, _ := get("/v1/licenses?limit=5")
	os.Remove(filler)
	var readyAfter int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if readyAfter, _ = get("/readyz"); readyAfter == 200 {
			break
		}
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("serve exited %d: %s", code, serveLog)
	}
	if ready != 503 || !strings.Contains(body, "cannot write") || list != 200 || readyAfter != 200 {
		t.Fatalf("readyz %d %s on a full disk, list %d, readyz %d after freeing; log:\n%s", ready, body, list, readyAfter, serveLog)
	}
	if !strings.Contains(serveLog.String(), "the store cannot be written") {
		t.Fatalf("no warning at start:\n%s", serveLog)
	}
}

// lockedBuffer is a bytes.Buffer that one goroutine writes while another
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
