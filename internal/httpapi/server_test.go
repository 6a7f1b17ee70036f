package httpapi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
)

type fixture struct {
	store  *app.App
	srv    *httptest.Server
	tokenA string
	tokenB string
	key    string // a license of account A
	pid    string
}

func setup(t *testing.T, opt Options) *fixture {
	t.Helper()
	return setupObserved(t, opt, nil)
}

// setupObserved is setup with the use cases reporting to obs.
func setupObserved(t *testing.T, opt Options, obs app.Observer) *fixture {
	t.Helper()
	store, srv, tokenFor := newObservedServer(t, licensing.SystemClock{}, opt, obs)
	ctx := context.Background()
	fx := &fixture{store: store, srv: srv}
	for _, email := range []string{"a@example.com", "b@example.com"} {
		if _, err := store.CreateAccount(ctx, email); err != nil {
			t.Fatal(err)
		}
	}
	a, b := licensing.WithAccount(ctx, "a@example.com"), licensing.WithAccount(ctx, "b@example.com")
	var err error
	if fx.tokenA, err = tokenFor(a); err != nil {
		t.Fatal(err)
	}
	if fx.tokenB, err = tokenFor(b); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateCompany(a, "Globex"); err != nil {
		t.Fatal(err)
	}
	p, err := store.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 2}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.key, fx.pid = p.Licenses[0], p.ID
	return fx
}

func (fx *fixture) request(t *testing.T, method, path, token, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, fx.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func wantProblem(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	var p Problem
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal([]byte(body), &p) != nil || p.Code != code || p.Status != status {
		t.Fatalf("got %d %s %s, want problem %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, status, code)
	}
}

func TestAuthentication(t *testing.T) {
	fx := setup(t, Options{})
	resp, body := fx.request(t, "GET", "/v1/licenses", "", "")
	wantProblem(t, resp, body, 401, licensing.EUNAUTHORIZED)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate header")
	}
	// The real token with its last character changed (to one it is not).
	last := "x"
	if strings.HasSuffix(fx.tokenA, last) {
		last = "y"
	}
	for _, tok := range []string{"lct_" + strings.Repeat("a", 32), fx.tokenA[:len(fx.tokenA)-1] + last, "Basic xyz"} {
		resp, body = fx.request(t, "GET", "/v1/licenses", tok, "")
		wantProblem(t, resp, body, 401, licensing.EUNAUTHORIZED)
	}
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	toks, _ := fx.store.ListTokens(ctx)
	if err := fx.store.RevokeToken(ctx, toks[0].Prefix); err != nil {
		t.Fatal(err)
	}
	resp, body = fx.request(t, "GET", "/v1/licenses", fx.tokenA, "")
	wantProblem(t, resp, body, 401, licensing.EUNAUTHORIZED)
	if resp, _ := fx.request(t, "GET", "/healthz", "", ""); resp.StatusCode != 200 {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	if resp, _ := fx.request(t, "GET", "/readyz", "", ""); resp.StatusCode != 200 {
		t.Errorf("readyz = %d", resp.StatusCode)
	}
}

// Every resource of account A, asked for with B's token, is "not found" (so
// existence does not leak) and nothing changes.
func TestCrossAccountAccessIsNotFound(t *testing.T) {
	fx := setup(t, Options{})
	_, want := fx.request(t, "GET", "/v1/licenses/"+fx.key, fx.tokenA, "")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/licenses/" + fx.key, ""},
		{"PATCH", "/v1/licenses/" + fx.key, `{"allow_rm":true}`},
		{"GET", "/v1/licenses?company=Globex", ""},
		{"GET", "/v1/license-groups?company=Globex", ""},
		{"POST", "/v1/purchases", `{"lines":[{"product":"backup-server","quantity":1,"company":"Globex"}]}`},
		{"PATCH", "/v1/licenses/" + fx.key, `{"company":"Globex"}`},
	} {
		resp, body := fx.request(t, c.method, c.path, fx.tokenB, c.body)
		wantProblem(t, resp, body, 404, licensing.ENOTFOUND)
	}
	resp, body := fx.request(t, "GET", "/v1/audit?object="+fx.pid, fx.tokenB, "")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("B reads A's audit: %d %s", resp.StatusCode, body)
	}
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	toks, _ := fx.store.ListTokens(ctx)
	resp, body = fx.request(t, "DELETE", "/v1/tokens/"+toks[0].Prefix, fx.tokenB, "")
	wantProblem(t, resp, body, 404, licensing.ENOTFOUND)
	if _, got := fx.request(t, "GET", "/v1/licenses/"+fx.key, fx.tokenA, ""); got != want {
		t.Fatalf("A's license changed:\n%s\n%s", want, got)
	}
}

// A client cannot set what the request type does not name (owner, price, expiry).
func TestMassAssignmentRefused(t *testing.T) {
	fx := setup(t, Options{})
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/purchases", `{"lines":[{"product":"backup-server","quantity":1}],"account":"b@example.com"}`},
		{"POST", "/v1/purchases", `{"lines":[{"product":"backup-server","quantity":1,"unit_price_cents":1}]}`},
		{"PATCH", "/v1/licenses/" + fx.key, `{"expires_at":"2099-01-01T00:00:00Z"}`},
		{"PATCH", "/v1/licenses/" + fx.key, `{"purchase_email":"x@example.com"}`},
		{"POST", "/v1/companies", `{"name":"X","account_id":2}`},
		{"POST", "/v1/companies", `{"name":"X"}{"name":"Y"}`},
	} {
		resp, body := fx.request(t, c.method, c.path, fx.tokenA, c.body)
		wantProblem(t, resp, body, 400, licensing.EINVALID)
	}
}

func TestBodyLimit(t *testing.T) {
	fx := setup(t, Options{MaxBody: 1024})
	big := `{"name":"` + strings.Repeat("x", 4096) + `"}`
	resp, body := fx.request(t, "POST", "/v1/companies", fx.tokenA, big)
	wantProblem(t, resp, body, 413, licensing.EINVALID)
}

func TestIdempotencyKeyOnPost(t *testing.T) {
	fx := setup(t, Options{})
	first, body1 := fx.request(t, "POST", "/v1/companies", fx.tokenA, `{"name":"Initech"}`, "Idempotency-Key", "k1")
	if first.StatusCode != 201 {
		t.Fatalf("first = %d %s", first.StatusCode, body1)
	}
	again, body2 := fx.request(t, "POST", "/v1/companies", fx.tokenA, `{"name":"Initech"}`, "Idempotency-Key", "k1")
	if again.StatusCode != 201 || body2 != body1 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %d %q (first %q)", again.StatusCode, body2, body1)
	}
	other, body := fx.request(t, "POST", "/v1/companies", fx.tokenA, `{"name":"Hooli"}`, "Idempotency-Key", "k1")
	wantProblem(t, other, body, 422, licensing.ECONFLICT)
	// The same key is B's own: keys are per account.
	if resp, body := fx.request(t, "POST", "/v1/companies", fx.tokenB, `{"name":"Hooli"}`, "Idempotency-Key", "k1"); resp.StatusCode != 201 {
		t.Fatalf("B with A's key = %d %s", resp.StatusCode, body)
	}
	// A request still in flight: the retry is told to wait.
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	sum := sha256.Sum256([]byte("POST /v1/companies\n" + `{"name":"Umbrella"}`))
	if _, err := fx.store.BeginIdempotent(ctx, "k2", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	resp, body := fx.request(t, "POST", "/v1/companies", fx.tokenA, `{"name":"Umbrella"}`, "Idempotency-Key", "k2")
	wantProblem(t, resp, body, 409, licensing.ECONFLICT)
	cs, _ := fx.store.ListCompanies(ctx)
	if len(cs) != 2 {
		t.Fatalf("companies of A = %v, want Globex and Initech only", cs)
	}
}

func TestRateLimit(t *testing.T) {
	fx := setup(t, Options{Rate: 1, Burst: 2})
	codes := []int{}
	var last *http.Response
	for i := 0; i < 3; i++ {
		last, _ = fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
		codes = append(codes, last.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 429]" || last.Header.Get("Retry-After") != "1" {
		t.Fatalf("codes %v, Retry-After %q", codes, last.Header.Get("Retry-After"))
	}
	// B has its own bucket.
	if resp, _ := fx.request(t, "GET", "/v1/companies", fx.tokenB, ""); resp.StatusCode != 200 {
		t.Fatalf("B limited by A's requests: %d", resp.StatusCode)
	}
}

// A client that sends headers slowly is cut off by ReadHeaderTimeout.
func TestSlowlorisCutOff(t *testing.T) {
	store, srv, _ := newServer(t, licensing.SystemClock{}, Options{})
	srv.Close()
	hs := NewHTTPServer(openapicheck.LoadDoc(t).Wrap(t, NewServer(store, Options{})), slog.New(slog.NewTextHandler(io.Discard, nil)), 300*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	go func() {
		for i := 0; i < 20; i++ {
			time.Sleep(100 * time.Millisecond)
			if _, err := fmt.Fprint(conn, "X-Slow: 1\r\n"); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("connection held for %v (read %q, %v)", took, line, err)
	}
	if strings.Contains(line, "200") {
		t.Fatalf("slow request was served: %q", line)
	}
}

// Guessing tokens from one address is refused after a burst of failures,
// before any token is looked at; another address is not affected.
func TestTokenGuessingIsRateLimited(t *testing.T) {
	fx := setup(t, Options{})
	for i := 0; i < authFailureBurst; i++ {
		resp, body := fx.request(t, "GET", "/v1/companies", fmt.Sprintf("lct_%032d", i), "")
		wantProblem(t, resp, body, 401, licensing.EUNAUTHORIZED)
	}
	resp, body := fx.request(t, "GET", "/v1/companies", "lct_"+strings.Repeat("z", 32), "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("guess %d: %d %s", authFailureBurst+1, resp.StatusCode, body)
	}
	// Even a valid token from that address waits: the check comes first.
	if resp, _ := fx.request(t, "GET", "/v1/companies", fx.tokenA, ""); resp.StatusCode != 429 {
		t.Fatalf("valid token from the blocked address: %d", resp.StatusCode)
	}
	// Successful requests never count as failures.
	fx2 := setup(t, Options{})
	for i := 0; i < 3*authFailureBurst; i++ {
		if resp, _ := fx2.request(t, "GET", "/v1/companies", fx2.tokenA, ""); resp.StatusCode != 200 {
			t.Fatalf("request %d with a valid token: %d", i, resp.StatusCode)
		}
	}
}

// A client that starts a large list and stops reading holds a stream slot,
// not the server: pages are still answered, and another large list gets a
// 503 with Retry-After instead of waiting forever.
func TestSlowStreamsCannotTakeEveryConnection(t *testing.T) {
	fx := setup(t, Options{MaxStreams: 1, StreamWait: 300 * time.Millisecond})
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := fx.store.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 20000}}}, nil); err != nil {
		t.Fatal(err)
	}
	slow, err := net.Dial("tcp", strings.TrimPrefix(fx.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(slow, "GET /v1/licenses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", fx.tokenA)
	time.Sleep(300 * time.Millisecond) // the slow stream has its slot and a full socket

	start := time.Now()
	resp, body := fx.request(t, "GET", "/v1/licenses?limit=50", fx.tokenA, "")
	if resp.StatusCode != 200 || time.Since(start) > 2*time.Second {
		t.Fatalf("page during a stalled stream: %d after %v: %s", resp.StatusCode, time.Since(start), body)
	}
	resp, body = fx.request(t, "GET", "/v1/licenses", fx.tokenA, "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second large list: %d %s", resp.StatusCode, body)
	}
	slow.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, body = fx.request(t, "GET", "/v1/licenses?limit=100", fx.tokenA, "")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream slot not released after the slow client left: %d %s", resp.StatusCode, body)
		}
	}
}
