package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// unavailable503 answers 503 as a proxy or an overloaded server may, with
// Retry-After: 0 so the tests do not wait.
func unavailable503(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(`{"type":"x","title":"Service Unavailable","status":503,"detail":"the store is busy","code":"unavailable"}`))
}

// A GET is retried through 503s, and so is every request that carries an
// Idempotency-Key (the client sends one with every POST, PATCH and DELETE),
// with the same key each time; creating a token carries none (its answer
// holds a secret the server never stores) and is not retried.
func TestClientRetriesOnlyWhatIsSafe(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	keys := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			keys[k] = true
		}
		mu.Unlock()
		if calls.Add(1) <= 2 {
			unavailable503(w)
			return
		}
		switch r.URL.Path {
		case "/v1/companies":
			if r.Method == http.MethodGet {
				writeJSON(w, 200, []licensing.Company{{Name: "Globex"}})
			} else {
				writeJSON(w, 201, licensing.Company{Name: "Initech"})
			}
		case "/v1/purchases":
			writeJSON(w, 201, licensing.Purchase{ID: "P-1"})
		case "/v1/tokens":
			writeJSON(w, 201, licensing.Token{Prefix: "lct_x"})
		}
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "lct_test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reset := func() {
		calls.Store(0)
		mu.Lock()
		clear(keys)
		mu.Unlock()
	}
	oneKey := func(what string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(keys) != 1 {
			t.Errorf("%s: %d different idempotency keys over its attempts, want 1", what, len(keys))
		}
	}
	if cs, err := c.ListCompanies(ctx); err != nil || len(cs) != 1 || calls.Load() != 3 {
		t.Fatalf("GET: %v %v after %d calls", cs, err, calls.Load())
	}
	reset()
	if co, err := c.CreateCompany(ctx, "Initech"); err != nil || co.Name != "Initech" || calls.Load() != 3 {
		t.Fatalf("POST with a key: %v %v after %d calls", co, err, calls.Load())
	}
	oneKey("create company")
	reset()
	p, err := c.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "x", Quantity: 1}}}, nil)
	if err != nil || p.ID != "P-1" || calls.Load() != 3 {
		t.Fatalf("purchase: %v %v after %d calls", p, err, calls.Load())
	}
	oneKey("purchase")
	reset()
	if _, err := c.CreateToken(ctx, licensing.TokenRequest{}); licensing.ErrorCode(err) != licensing.EUNAVAILABLE || calls.Load() != 1 {
		t.Fatalf("token: err %v after %d calls, want one call", err, calls.Load())
	}
}

// Every call that changes something sends an Idempotency-Key (creating a
// token excepted, see above), so that the client may retry it.
func TestClientSendsIdempotencyKeys(t *testing.T) {
	var mu sync.Mutex
	var missing []string
	seen := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		if r.Method != http.MethodGet && r.Header.Get("Idempotency-Key") == "" && r.URL.Path != "/v1/tokens" {
			missing = append(missing, r.Method+" "+r.URL.Path)
		}
		mu.Unlock()
		writeJSON(w, 200, map[string]any{})
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	ctx := context.Background()
	key := "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"
	on := true
	c.CreateCompany(ctx, "Initech")
	c.Quote(ctx, licensing.BuyRequest{})
	c.Buy(ctx, licensing.BuyRequest{}, nil)
	c.UpdateLicense(ctx, key, licensing.LicenseUpdate{AllowRM: &on})
	c.RevokeToken(ctx, "lct_x")
	c.RequestAttach(ctx, licensing.AttachRequest{Key: key}, nil)
	c.ConfirmAttach(ctx, "K7M2Q-9XDPA")
	c.QuoteMaintenance(ctx, licensing.MaintenanceBuyRequest{})
	c.BuyMaintenance(ctx, licensing.MaintenanceBuyRequest{}, nil)
	c.AssignMaintenance(ctx, "M-1", key)
	c.UpdateMaintenance(ctx, "M-1", licensing.MaintenanceUpdate{})
	c.RunRenewals(ctx, time.Now())
	c.Activate(ctx, licensing.ActivationRequest{LicenseKey: key})
	c.Deactivate(ctx, licensing.DeactivateRequest{ID: 1})
	c.ActivateOffline(ctx, []byte("request"))
	c.ReleaseOffline(ctx, []byte("proof"))
	if seen < 16 {
		t.Fatalf("only %d requests reached the server", seen)
	}
	if len(missing) > 0 {
		t.Errorf("sent without an Idempotency-Key: %s", strings.Join(missing, ", "))
	}
}

// The client gives up once http.retry_for has passed since the first
// failure, with the server's temporary error (exit 75), and tells the
// terminal once per wait.
func TestClientRetryForBound(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		unavailable503(w)
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	c.RetryFor = 800 * time.Millisecond
	var notes []string
	c.Notify = func(reason string) { notes = append(notes, reason) }
	start := time.Now()
	_, err := c.ListCompanies(context.Background())
	took := time.Since(start)
	if licensing.ErrorCode(err) != licensing.EUNAVAILABLE || licensing.ErrorMessage(err) != "the store is busy" {
		t.Fatalf("err = %v (code %s)", err, licensing.ErrorCode(err))
	}
	if took < 700*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %v, want about 800ms", took)
	}
	if n := int(calls.Load()); n < 3 || len(notes) != n-1 {
		t.Errorf("%d calls, %d notices (%v): want several calls and a notice before each retry", n, len(notes), notes)
	}
	for _, n := range notes {
		if n != "server unavailable" {
			t.Errorf("notice %q", n)
		}
	}

	// A negative retry_for turns retries off.
	calls.Store(0)
	c.RetryFor = -1
	if _, err := c.ListCompanies(context.Background()); err == nil || calls.Load() != 1 {
		t.Errorf("no retries: %v after %d calls", err, calls.Load())
	}
}

// Retry-After is honoured; a Retry-After beyond retry_for (an attach rate
// limit of an hour) is not waited for at all.
func TestClientHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	retryAfter := "1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", retryAfter)
			writeProblem(w, problemFor(licensing.Errorf(licensing.ERATELIMITED, "slow down")))
			return
		}
		writeJSON(w, 200, []licensing.Company{})
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	start := time.Now()
	if _, err := c.ListCompanies(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %v, before Retry-After (1s)", took)
	}

	calls.Store(0)
	retryAfter = "3600"
	start = time.Now()
	_, err := c.ListCompanies(context.Background())
	if licensing.ErrorCode(err) != licensing.ERATELIMITED || calls.Load() != 1 || time.Since(start) > time.Second {
		t.Errorf("Retry-After 3600: %v after %d calls and %v, want the rate limit at once", err, calls.Load(), time.Since(start))
	}
}

// A server that refuses connections is a temporary failure: the client
// retries (a restart on the same address is found) and, when retry_for
// runs out, says it cannot reach the host (EUNAVAILABLE: exit 75).
func TestClientRetriesRefusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := NewClient("http://"+addr, "lct_test")
	c.RetryFor = 500 * time.Millisecond
	_, err = c.ListCompanies(context.Background())
	if licensing.ErrorCode(err) != licensing.EUNAVAILABLE || !strings.HasPrefix(licensing.ErrorMessage(err), "cannot reach "+addr) || licensing.ErrorHint(err) == "" {
		t.Fatalf("err = %v (code %s, hint %q)", err, licensing.ErrorCode(err), licensing.ErrorHint(err))
	}

	// The server comes up on that address while the client retries; even a
	// request the server could not recognise as a repeat is retried, since
	// it was never sent.
	c.RetryFor = 10 * time.Second
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, licensing.Token{Prefix: "lct_x"})
	})}
	time.AfterFunc(700*time.Millisecond, func() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		srv.Serve(ln)
	})
	defer srv.Close()
	if tok, err := c.CreateToken(context.Background(), licensing.TokenRequest{}); err != nil || tok.Prefix != "lct_x" {
		t.Fatalf("after the server came up: %v %v", tok, err)
	}
}

// A connection cut after the request was sent (a server killed mid-request)
// is retried for a GET and a request with a key, not for one without.
func TestClientRetriesCutConnections(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeJSON(w, 201, licensing.Company{Name: "Initech"})
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	if _, err := c.CreateCompany(context.Background(), "Initech"); err != nil || calls.Load() != 2 {
		t.Fatalf("POST with a key: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	if _, err := c.CreateToken(context.Background(), licensing.TokenRequest{}); licensing.ErrorCode(err) != licensing.EUNAVAILABLE || calls.Load() != 1 {
		t.Fatalf("token: %v (code %s) after %d calls, want one call and a temporary failure", err, licensing.ErrorCode(err), calls.Load())
	}
}

func TestClientMapsProblemsToDomainErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemFor(licensing.Errorf(licensing.ECONFLICT, "the payment mode is fixed").WithHint("use --billing annual")))
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	_, err := c.ListCompanies(context.Background())
	if licensing.ErrorCode(err) != licensing.ECONFLICT || licensing.ErrorMessage(err) != "the payment mode is fixed" || licensing.ErrorHint(err) != "use --billing annual" {
		t.Fatalf("err = %#v", err)
	}
}

// A proxy's 502/503/504 without a problem document is still temporary.
func TestClientProxyErrorsAreTemporary(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream gone", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	c.RetryFor = -1
	if _, err := c.ListCompanies(context.Background()); licensing.ErrorCode(err) != licensing.EUNAVAILABLE {
		t.Fatalf("err = %v (code %s)", err, licensing.ErrorCode(err))
	}
}
