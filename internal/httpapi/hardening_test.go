package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// A customer's token cannot lift (or set) an operator's suspension: 403
// forbidden, nothing changes. The audit log tells a change made over the API
// ("EMAIL via api token PREFIX") from one made on the store host ("EMAIL").
func TestSuspensionIsRefusedOverTheAPI(t *testing.T) {
	fx := setup(t, Options{})
	a := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := fx.store.UpdateLicense(a, fx.key, licensing.LicenseUpdate{Suspended: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"suspended":false}`, `{"suspended":true}`, `{"allow_rm":true,"suspended":false}`} {
		resp, b := fx.request(t, "PATCH", "/v1/licenses/"+fx.key, fx.tokenA, body)
		wantProblem(t, resp, b, 403, licensing.EFORBIDDEN)
	}
	d, err := fx.store.GetLicense(a, fx.key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fx.store.ValidateLicense(a, fx.key, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Code != licensing.ValidSuspended || d.AllowRM {
		t.Fatalf("license changed by refused requests: validation %s, allow_rm %v", v.Code, d.AllowRM)
	}
	if resp, b := fx.request(t, "PATCH", "/v1/licenses/"+fx.key, fx.tokenA, `{"allow_rm":true}`); resp.StatusCode != 200 {
		t.Fatalf("allow_rm over the API: %d %s", resp.StatusCode, b)
	}
	evs, err := fx.store.ListAudit(a, licensing.AuditFilter{Action: "license.update", Object: fx.key})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v; want the local suspension and the API's allow_rm", evs, err)
	}
	apiActor := regexp.MustCompile(`^a@example\.com via api token ` + regexp.QuoteMeta(fx.tokenA[:12]) + `$`)
	if !apiActor.MatchString(evs[0].Actor) || !strings.Contains(string(evs[0].Details), "allow_rm") {
		t.Errorf("API change: actor %q details %s, want %q", evs[0].Actor, evs[0].Details, apiActor)
	}
	if evs[1].Actor != "a@example.com" || !strings.Contains(string(evs[1].Details), "suspended") {
		t.Errorf("local suspension: actor %q details %s", evs[1].Actor, evs[1].Details)
	}
	if strings.Contains(evs[0].Actor, fx.tokenA[12:]) {
		t.Error("the audit log holds the token's secret part")
	}
}

func ptrTo[T any](v T) *T { return &v }

// A throttled request is 429 rate_limited (exit 75 at the CLI, not 4), with
// Retry-After in whole seconds, never 0, and retry_at.
func TestRateLimitedIsItsOwnError(t *testing.T) {
	fx := setup(t, Options{Rate: 1, Burst: 2})
	fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
	fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
	before := time.Now()
	resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
	wantProblem(t, resp, body, 429, licensing.ERATELIMITED)
	var p Problem
	json.Unmarshal([]byte(body), &p)
	if resp.Header.Get("Retry-After") != "1" || p.RetryAt == nil || p.RetryAt.Before(before) || p.RetryAt.After(before.Add(2*time.Second)) {
		t.Fatalf("Retry-After %q, retry_at %v", resp.Header.Get("Retry-After"), p.RetryAt)
	}
	if err := p.errorOf(); licensing.ErrorCode(err) != licensing.ERATELIMITED || !licensing.Temporary(err) {
		t.Fatalf("client side: %v (%s)", err, licensing.ErrorCode(err))
	}

	// Every 429 of a burst of requests says to wait at least a second.
	fx = setup(t, Options{Rate: 3, Burst: 1})
	refused := 0
	for range 30 {
		resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
		if resp.StatusCode == 429 {
			refused++
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("Retry-After %q: %s", resp.Header.Get("Retry-After"), body)
			}
		}
	}
	if refused == 0 {
		t.Fatal("30 requests at once, none refused")
	}
}

// A rate below 1 request/s allows a request every 1/rate seconds, rather
// than refusing every request forever.
func TestRateBelowOne(t *testing.T) {
	fx := setup(t, Options{Rate: 0.5})
	if resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenA, ""); resp.StatusCode != 200 {
		t.Fatalf("first request at 0.5/s: %d %s", resp.StatusCode, body)
	}
	resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
	wantProblem(t, resp, body, 429, licensing.ERATELIMITED)
	if resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q, want 2", resp.Header.Get("Retry-After"))
	}
}

// All tokens of an account share the account's allowance; another account
// keeps its own.
func TestRateLimitPerAccount(t *testing.T) {
	fx := setup(t, Options{Rate: 100, AccountRate: 0.01, AccountBurst: 3})
	a := licensing.WithAccount(context.Background(), "a@example.com")
	var tokens []string
	for range 3 {
		tok, err := fx.store.CreateToken(a, licensing.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok.Secret)
	}
	for i, tok := range tokens {
		if resp, body := fx.request(t, "GET", "/v1/companies", tok, ""); resp.StatusCode != 200 {
			t.Fatalf("token %d: %d %s", i, resp.StatusCode, body)
		}
	}
	for _, tok := range append(tokens, fx.tokenA) {
		resp, body := fx.request(t, "GET", "/v1/companies", tok, "")
		wantProblem(t, resp, body, 429, licensing.ERATELIMITED)
	}
	if resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenB, ""); resp.StatusCode != 200 {
		t.Fatalf("B limited by A's requests: %d %s", resp.StatusCode, body)
	}
}

// Routes without a token are limited per client address.
func TestUnauthenticatedRoutesLimitedPerAddress(t *testing.T) {
	fx := setup(t, Options{Rate: 0.01, Burst: 2})
	for _, path := range []string{"/healthz", "/v1/products"} {
		if resp, body := fx.request(t, "GET", path, "", ""); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/products", "/v1/products/backup-server", "/v1/signing-keys"} {
		resp, body := fx.request(t, "GET", path, "", "")
		wantProblem(t, resp, body, 429, licensing.ERATELIMITED)
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", path)
		}
	}
	// A token's allowance is its own.
	if resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenA, ""); resp.StatusCode != 200 {
		t.Fatalf("token request from the same address: %d %s", resp.StatusCode, body)
	}
}

// The limiters remember a bounded number of keys and forget the least
// recently seen, never all at once: a key being throttled stays throttled
// however many other keys pass by.
func TestLimitersStayBounded(t *testing.T) {
	l := newLimiters(0.001, 1)
	now := time.Now()
	if _, ok := take(now, charge{l, "busy"}); !ok {
		t.Fatal("first request refused")
	}
	for i := range limiterKeys + 5000 {
		take(now, charge{l, "k" + strconv.Itoa(i)})
		if i%1000 == 0 {
			if _, ok := take(now, charge{l, "busy"}); ok {
				t.Fatalf("after %d other keys, the throttled key was forgiven", i)
			}
		}
	}
	if n := l.keys.len(); n > limiterKeys {
		t.Fatalf("%d keys remembered, want at most %d", n, limiterKeys)
	}
}

// An account holds at most MaxTokensPerAccount live tokens: one more is a
// conflict with a hint to revoke, and revoking makes room.
func TestTokenCapPerAccount(t *testing.T) {
	fx := setup(t, Options{MaxTokensPerAccount: 3})
	for i := range 2 {
		if resp, body := fx.request(t, "POST", "/v1/tokens", fx.tokenA, ""); resp.StatusCode != 201 {
			t.Fatalf("token %d: %d %s", i+2, resp.StatusCode, body)
		}
	}
	resp, body := fx.request(t, "POST", "/v1/tokens", fx.tokenA, "")
	wantProblem(t, resp, body, 409, licensing.ECONFLICT)
	if !strings.Contains(body, "revoke") || !strings.Contains(body, "3 live API tokens") {
		t.Fatalf("refusal does not say why or what to do: %s", body)
	}
	a := licensing.WithAccount(context.Background(), "a@example.com")
	toks, _ := fx.store.ListTokens(a)
	if len(toks) != 3 {
		t.Fatalf("%d tokens after a refused create, want 3", len(toks))
	}
	if resp, body := fx.request(t, "DELETE", "/v1/tokens/"+toks[2].Prefix, fx.tokenA, ""); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if resp, body := fx.request(t, "POST", "/v1/tokens", fx.tokenA, ""); resp.StatusCode != 201 {
		t.Fatalf("create after a revoke: %d %s", resp.StatusCode, body)
	}
}

// stall starts a large license list on a raw connection and never reads it.
func stall(t *testing.T, fx *fixture, token string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(fx.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /v1/licenses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", token)
}

// Account A's clients that stop reading hold A's stream slots only: B's
// large list answers at once, and so does A's list that fits in one page.
func TestStreamSlotsPerAccount(t *testing.T) {
	// A list that had to wait for one of A's slots would wait the whole
	// StreamWait (then answer 503); far longer than B's list takes even
	// under the race detector on a loaded machine.
	fx := setup(t, Options{StreamWait: 5 * time.Second, Rate: 1e6})
	a := licensing.WithAccount(context.Background(), "a@example.com")
	b := licensing.WithAccount(context.Background(), "b@example.com")
	if _, err := fx.store.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 20000}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.Buy(b, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 300}}}, nil); err != nil {
		t.Fatal(err)
	}
	stall(t, fx, fx.tokenA)
	stall(t, fx, fx.tokenA)
	time.Sleep(300 * time.Millisecond) // both streams have their slots and full sockets

	start := time.Now()
	resp, body := fx.request(t, "GET", "/v1/licenses", fx.tokenB, "")
	var ls []json.RawMessage
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ls) != nil || len(ls) != 300 {
		t.Fatalf("B's list while A stalls two: %d, %d bytes", resp.StatusCode, len(body))
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Fatalf("B's list waited %v for a slot", took)
	}
	// A list without a limit that fits in one page needs no slot.
	resp, body = fx.request(t, "GET", "/v1/licenses?company=Globex", fx.tokenA, "")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("A's small list: %d %s", resp.StatusCode, body)
	}
	resp, body = fx.request(t, "GET", "/v1/licenses?product=backup-server", fx.tokenA, "")
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ls) != nil || len(ls) != 2 || resp.ContentLength <= 0 {
		t.Fatalf("A's two-license list: %d %s", resp.StatusCode, body)
	}
	// A's third large list waits for one of A's own slots, then 503.
	resp, body = fx.request(t, "GET", "/v1/licenses", fx.tokenA, "")
	wantProblem(t, resp, body, 503, licensing.EUNAVAILABLE)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

// Stream slots: per account and in total, and a release wakes a waiter.
func TestStreamSlots(t *testing.T) {
	s := newStreamSlots(3, 2)
	ctx := context.Background()
	var releases []func()
	for _, acct := range []string{"a", "a", "b"} {
		rel, err := s.acquire(ctx, acct, 10*time.Millisecond)
		if rel == nil || err != nil {
			t.Fatalf("slot for %s: %v", acct, err)
		}
		releases = append(releases, rel)
	}
	if rel, _ := s.acquire(ctx, "c", 20*time.Millisecond); rel != nil {
		t.Fatal("a fourth slot beyond the total")
	}
	releases[2]()
	if rel, _ := s.acquire(ctx, "a", 20*time.Millisecond); rel != nil {
		t.Fatal("a third slot for one account")
	}
	got := make(chan func(), 1)
	go func() { rel, _ := s.acquire(ctx, "a", 5*time.Second); got <- rel }()
	time.Sleep(20 * time.Millisecond)
	releases[0]()
	releases[0]() // a second call releases nothing
	select {
	case rel := <-got:
		if rel == nil {
			t.Fatal("the waiter got no slot")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a release did not wake the waiter")
	}
	if s.used != 2 || s.byAccount["a"] != 2 {
		t.Fatalf("used %d, a %d", s.used, s.byAccount["a"])
	}
}

// Bodies are read as a validating gateway reads them: field names exactly
// as documented, none twice. Nothing changes.
func TestStrictBodies(t *testing.T) {
	fx := setup(t, Options{})
	for _, c := range []struct{ method, path, body, want string }{
		{"PATCH", "/v1/licenses/" + fx.key, `{"ALLOW_RM":true}`, "case-sensitive"},
		{"PATCH", "/v1/licenses/" + fx.key, `{"Allow_Rm":true}`, "case-sensitive"},
		{"PATCH", "/v1/licenses/" + fx.key, `{"allow_rm":false,"allow_rm":true}`, "twice"},
		{"POST", "/v1/purchases", `{"lines":[{"Product":"backup-server","quantity":1}]}`, "lines[0].Product"},
		{"POST", "/v1/purchases", `{"lines":[{"product":"backup-server","quantity":1,"quantity":5}]}`, "twice"},
		{"POST", "/v1/companies", `{"NAME":"Initech"}`, "case-sensitive"},
		{"POST", "/v1/activations", `{"license_key":"x","LICENSE_KEY":"y"}`, "LICENSE_KEY"},
		{"POST", "/v1/maintenance-quotes", `{"ALL":true}`, "case-sensitive"},
		// Each offline file goes to its own route: the other's field is unknown.
		{"POST", "/v1/offline-activations", `{"request":"x","proof":"y"}`, `unknown field \"proof\"`},
		{"POST", "/v1/offline-releases", `{"proof":"x","request":"y"}`, `unknown field \"request\"`},
	} {
		resp, body := fx.request(t, c.method, c.path, fx.tokenA, c.body)
		wantProblem(t, resp, body, 400, licensing.EINVALID)
		if !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %s, want it to mention %s", c.method, c.path, c.body, body, c.want)
		}
	}
	a := licensing.WithAccount(context.Background(), "a@example.com")
	if d, _ := fx.store.GetLicense(a, fx.key); d.AllowRM {
		t.Fatal("a refused body changed the license")
	}
	if cs, _ := fx.store.ListCompanies(a); len(cs) != 1 {
		t.Fatalf("companies %v", cs)
	}
	// Exact names still work, nested ones included.
	if resp, body := fx.request(t, "POST", "/v1/purchases", fx.tokenA, `{"lines":[{"product":"backup-server","quantity":1}]}`); resp.StatusCode != 201 {
		t.Fatalf("valid purchase: %d %s", resp.StatusCode, body)
	}
	if resp, body := fx.request(t, "PATCH", "/v1/licenses/"+fx.key, fx.tokenA, `{"allow_rm":true}`); resp.StatusCode != 200 {
		t.Fatalf("valid update: %d %s", resp.StatusCode, body)
	}
}

// A wrong method is 405 with Allow; a path nobody serves stays 404.
func TestWrongMethodIs405(t *testing.T) {
	fx := setup(t, Options{})
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/v1/licenses", "GET, HEAD"},
		{"PUT", "/v1/companies", "GET, HEAD, POST"},
		{"DELETE", "/v1/purchases", "GET, HEAD, POST"},
		{"POST", "/v1/licenses/" + fx.key, "GET, HEAD, PATCH"},
		{"GET", "/v1/tokens/lct_abcdefgh", "DELETE"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		resp, body := fx.request(t, c.method, c.path, fx.tokenA, "")
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != c.allow || !strings.Contains(body, `"status":405`) {
			t.Errorf("%s %s: %d Allow %q %s, want 405 Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), body, c.allow)
		}
	}
	resp, body := fx.request(t, "GET", "/v1/nothing", fx.tokenA, "")
	wantProblem(t, resp, body, 404, licensing.ENOTFOUND)
}

// POST /v1/renewal-runs takes an empty body, as the spec says (as of now).
func TestRenewalRunEmptyBody(t *testing.T) {
	fx := setup(t, Options{})
	for _, body := range []string{"", "  \n", "{}"} {
		if resp, b := fx.request(t, "POST", "/v1/renewal-runs", fx.tokenA, body); resp.StatusCode != 200 {
			t.Fatalf("body %q: %d %s", body, resp.StatusCode, b)
		}
	}
	resp, b := fx.request(t, "POST", "/v1/activations", fx.tokenA, "")
	wantProblem(t, resp, b, 400, licensing.EINVALID)
}

// An idempotency key reused with another body is 422 on every route that
// honours keys (purchases included), replays carry Idempotent-Replayed.
func TestIdempotencyKeyReuseIs422Everywhere(t *testing.T) {
	fx := setup(t, Options{})
	buy := `{"lines":[{"product":"backup-server","quantity":1}]}`
	first, b1 := fx.request(t, "POST", "/v1/purchases", fx.tokenA, buy, "Idempotency-Key", "p1")
	if first.StatusCode != 201 {
		t.Fatalf("purchase: %d %s", first.StatusCode, b1)
	}
	again, b2 := fx.request(t, "POST", "/v1/purchases", fx.tokenA, buy, "Idempotency-Key", "p1")
	if again.StatusCode != 200 || again.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(b2, `"replayed":true`) {
		t.Fatalf("purchase replay: %d %q %s", again.StatusCode, again.Header.Get("Idempotent-Replayed"), b2)
	}
	resp, body := fx.request(t, "POST", "/v1/purchases", fx.tokenA, `{"lines":[{"product":"backup-server","quantity":2}]}`, "Idempotency-Key", "p1")
	wantProblem(t, resp, body, 422, licensing.ECONFLICT)
	resp, body = fx.request(t, "POST", "/v1/purchases", fx.tokenA, `{"lines":[{"product":"backup-server","quantity":2}],"idempotency_key":"p1"}`)
	wantProblem(t, resp, body, 422, licensing.ECONFLICT)

	mb := `{"key":"` + fx.key + `"}`
	if resp, body := fx.request(t, "POST", "/v1/maintenance-purchases", fx.tokenA, mb, "Idempotency-Key", "m1"); resp.StatusCode != 201 {
		t.Fatalf("maintenance purchase: %d %s", resp.StatusCode, body)
	}
	resp, body = fx.request(t, "POST", "/v1/maintenance-purchases", fx.tokenA, mb, "Idempotency-Key", "m1")
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("maintenance replay: %d %q %s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), body)
	}
	resp, body = fx.request(t, "POST", "/v1/maintenance-purchases", fx.tokenA, `{"all":true}`, "Idempotency-Key", "m1")
	wantProblem(t, resp, body, 422, licensing.ECONFLICT)

	act := func(machine string) string {
		return `{"license_key":"` + fx.key + `","machine":"` + machine + `","fingerprint":"fp-` + machine + `","os":"linux","version":"5.0"}`
	}
	if resp, body := fx.request(t, "POST", "/v1/activations", fx.tokenA, act("one"), "Idempotency-Key", "a1"); resp.StatusCode != 201 {
		t.Fatalf("activation: %d %s", resp.StatusCode, body)
	}
	resp, body = fx.request(t, "POST", "/v1/activations", fx.tokenA, act("one"), "Idempotency-Key", "a1")
	if resp.StatusCode != 201 || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("activation replay: %d %q %s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), body)
	}
	resp, body = fx.request(t, "POST", "/v1/activations", fx.tokenA, act("two"), "Idempotency-Key", "a1")
	wantProblem(t, resp, body, 422, licensing.ECONFLICT)
	a := licensing.WithAccount(context.Background(), "a@example.com")
	if acts, _ := fx.store.ListActivations(a, licensing.ActivationFilter{}); len(acts) != 1 {
		t.Fatalf("%d activations, want 1", len(acts))
	}
}

// A rate-limited answer is not what an idempotency key keeps: the retry
// after Retry-After runs the request.
func TestIdempotencyKeyNotKeptFor429(t *testing.T) {
	fx := setup(t, Options{})
	body := `{"purchase_id":"` + fx.pid + `"}`
	for i := range licensing.AttachRateLimit {
		key := "attach-" + strconv.Itoa(i)
		if resp, b := fx.request(t, "POST", "/v1/attach-requests", fx.tokenB, body, "Idempotency-Key", key); resp.StatusCode != 201 {
			t.Fatalf("attach request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := fx.request(t, "POST", "/v1/attach-requests", fx.tokenB, body, "Idempotency-Key", "attach-last")
	if resp.StatusCode != 429 {
		t.Fatalf("attach over its limit: %d %s", resp.StatusCode, b)
	}
	resp, _ = fx.request(t, "POST", "/v1/attach-requests", fx.tokenB, body, "Idempotency-Key", "attach-last")
	if resp.Header.Get("Idempotent-Replayed") == "true" {
		t.Fatal("the 429 was stored and replayed")
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

// probeCounting is the real store, counting /readyz's checks.
type probeCounting struct {
	*app.App
	checks atomic.Int32
}

func (p *probeCounting) ProbeWrite(ctx context.Context) error {
	p.checks.Add(1)
	return p.App.ProbeWrite(ctx)
}

// On a real full disk (a tmpfs): a failed write answers without the store's
// path, reads still work, /readyz says not ready (checked at most once per
// ReadyEvery, from a cache in between) and ready again once there is room.
func TestFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "4M")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "full.db"), sqlite.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := app.New(db, app.Options{})
	if _, err := store.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	tok, err := store.CreateToken(a, licensing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	counted := &probeCounting{App: store}
	srv := httptest.NewServer(openapicheck.LoadDoc(t).Wrap(t, NewServer(counted, Options{ReadyEvery: 300 * time.Millisecond})))
	t.Cleanup(srv.Close)
	fx := &fixture{store: store, srv: srv}
	if resp, body := fx.request(t, "GET", "/readyz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("readyz before: %d %s", resp.StatusCode, body)
	}
	time.Sleep(300 * time.Millisecond)
	filler := fillDisk(t, dir)

	resp, body := fx.request(t, "POST", "/v1/purchases", tok.Secret, `{"lines":[{"product":"backup-server","quantity":3000}]}`)
	if resp.StatusCode < 500 || strings.Contains(body, dir) || strings.Contains(body, "full.db") || !strings.Contains(body, "cannot write its store") {
		t.Fatalf("purchase on a full disk: %d %s", resp.StatusCode, body)
	}
	if resp, body := fx.request(t, "GET", "/v1/licenses?limit=5", tok.Secret, ""); resp.StatusCode != 200 {
		t.Fatalf("a read on a full disk: %d %s", resp.StatusCode, body)
	}
	checks := counted.checks.Load()
	for i := range 20 {
		resp, body := fx.request(t, "GET", "/readyz", "", "")
		if resp.StatusCode != 503 || !strings.Contains(body, "cannot write") {
			t.Fatalf("readyz %d on a full disk: %d %s", i, resp.StatusCode, body)
		}
	}
	if n := counted.checks.Load() - checks; n != 1 {
		t.Fatalf("20 readyz in a row checked the store %d times, want 1", n)
	}
	os.Remove(filler)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, _ := fx.request(t, "GET", "/readyz", "", "")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready again after the disk was freed")
		}
	}
	if resp, body := fx.request(t, "POST", "/v1/purchases", tok.Secret, `{"lines":[{"product":"backup-server","quantity":30}]}`); resp.StatusCode != 201 {
		t.Fatalf("purchase after freeing the disk: %d %s", resp.StatusCode, body)
	}
}

// A write probe that only waits for the lock behind a long writer reports
// ready: the store is writing.
func TestReadyWhileAWriterHoldsTheLock(t *testing.T) {
	fx := setup(t, Options{ReadyEvery: time.Millisecond})
	a := licensing.WithAccount(context.Background(), "a@example.com")
	done := make(chan error, 1)
	go func() {
		_, err := fx.store.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 20000}}}, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if resp, body := fx.request(t, "GET", "/readyz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("readyz during a large purchase: %d %s", resp.StatusCode, body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Every 401 carries a bearer challenge (RFC 9110, 15.5.2): a missing or bad
// token, and also a wrong attach code or a maintenance purchase for another
// email, which the domain refuses as unauthorized.
func TestEvery401HasAChallenge(t *testing.T) {
	fx := setup(t, Options{})
	for _, c := range []struct{ name, method, path, token, body, want string }{
		{"no token", "GET", "/v1/companies", "", "", `Bearer realm="licensectl"`},
		{"unknown token", "GET", "/v1/companies", "lct_" + strings.Repeat("a", 32), "", `Bearer realm="licensectl", error="invalid_token"`},
		{"wrong attach code", "POST", "/v1/attach-confirmations", fx.tokenB, `{"code":"ABCDE-FGHJK"}`, `Bearer realm="licensectl"`},
		{"maintenance for another email", "POST", "/v1/maintenance-quotes", fx.tokenA, `{"key":"` + fx.key + `","purchase_email":"other@example.com"}`, `Bearer realm="licensectl"`},
	} {
		resp, body := fx.request(t, c.method, c.path, c.token, c.body)
		wantProblem(t, resp, body, 401, licensing.EUNAUTHORIZED)
		if got := resp.Header.Get("WWW-Authenticate"); got != c.want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", c.name, got, c.want)
		}
	}
}

// unavailableAuth is a test double of the store whose token look-up fails
// as a store that cannot be reached does.
type unavailableAuth struct{ *app.App }

func (unavailableAuth) Authenticate(context.Context, string) (licensing.Principal, error) {
	return licensing.Principal{}, licensing.Errorf(licensing.EUNAVAILABLE, "the store is unreachable")
}

// A store that cannot check a token answers 503 with Retry-After, and says
// nothing of the token: no invalid_token challenge that would have a client
// drop a good one.
func TestUnavailableStoreIsNotAnInvalidToken(t *testing.T) {
	fx := setup(t, Options{})
	srv := httptest.NewServer(openapicheck.LoadDoc(t).Wrap(t, NewServer(unavailableAuth{fx.store}, Options{})))
	t.Cleanup(srv.Close)
	fx = &fixture{store: fx.store, srv: srv, tokenA: fx.tokenA}
	resp, body := fx.request(t, "GET", "/v1/companies", fx.tokenA, "")
	wantProblem(t, resp, body, 503, licensing.EUNAVAILABLE)
	if got := resp.Header.Get("WWW-Authenticate"); got != "" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("WWW-Authenticate %q, Retry-After %q on a 503", got, resp.Header.Get("Retry-After"))
	}
}
