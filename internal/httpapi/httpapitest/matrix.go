package httpapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
)

// Outcome is what the permission matrix expects of one request.
type Outcome string

// Outcomes of the matrix: the request passes the access rule (whatever its
// handler answers then), or is refused.
const (
	Allowed      Outcome = "allowed"
	Unauthorized Outcome = "401"
	Forbidden    Outcome = "403"
	NeedsAccount Outcome = "400 needs --account"
	OtherAccount Outcome = "400 another account"
	NotFound     Outcome = "404"
)

// Caller is one principal of the matrix: no token, an account's token or an
// operator's, with its scopes, maybe acting for an account.
type Caller struct {
	Name     string
	Token    string
	Kind     licensing.PrincipalKind // "" for no token
	Scopes   []licensing.Scope
	OnBehalf string // the Licensectl-Account header
	own      string // an account token's own account
}

// Expect is what the access rules of perm say c gets, and the scope a 403
// must name: the permission table read as a specification.
func (c Caller) Expect(perm httpapi.Permission) (Outcome, licensing.Scope) {
	has := func(s licensing.Scope) bool { return s == "*" || slices.Contains(c.Scopes, s) }
	switch {
	case perm.Public:
		return Allowed, ""
	case c.Kind == "":
		return Unauthorized, ""
	case c.Kind == licensing.KindAccount:
		switch {
		case c.OnBehalf != "" && c.OnBehalf != c.own:
			return OtherAccount, ""
		case perm.Account == "":
			return Forbidden, perm.Operator
		case !has(perm.Account):
			return Forbidden, perm.Account
		}
		return Allowed, ""
	case c.OnBehalf == "":
		switch {
		case perm.Operator == "" && !has(licensing.ScopeImpersonate):
			return Forbidden, licensing.ScopeImpersonate
		case perm.Operator == "":
			return NeedsAccount, ""
		case !has(perm.Operator):
			return Forbidden, perm.Operator
		}
		return Allowed, ""
	case !has(licensing.ScopeImpersonate):
		return Forbidden, licensing.ScopeImpersonate
	case perm.Account == "" && !has(perm.Operator):
		return Forbidden, perm.Operator
	}
	return Allowed, ""
}

// matrixFixture is what the matrix's requests name: objects of account A
// (the callers' own) and of account B (another's).
type matrixFixture struct {
	a, b           string // emails
	keyA, keyB     string
	planA, planB   string
	prefixB        string // a live token of B
	purchaseA      string
	operator       string
	operatorPrefix string
}

const (
	matrixA = "matrix-a@example.com"
	matrixB = "matrix-b@example.com"
)

func newMatrixFixture(t *testing.T, store Store) *matrixFixture {
	t.Helper()
	ctx := context.Background()
	fx := &matrixFixture{a: matrixA, b: matrixB, operator: "matrix-op"}
	for _, email := range []string{fx.a, fx.b} {
		if _, err := store.CreateAccount(ctx, email); err != nil {
			t.Fatal(err)
		}
	}
	buy := func(email string) (string, string, string) {
		actx := licensing.WithAccount(ctx, email)
		p, err := store.Buy(actx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 1}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := store.BuyMaintenance(actx, licensing.MaintenanceBuyRequest{Key: p.Licenses[0]}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.Licenses[0], mp.Plans[0].ID, p.ID
	}
	fx.keyA, fx.planA, fx.purchaseA = buy(fx.a)
	fx.keyB, fx.planB, _ = buy(fx.b)
	tb, err := store.CreateToken(licensing.WithAccount(ctx, fx.b), licensing.TokenRequest{Name: "b's own"})
	if err != nil {
		t.Fatal(err)
	}
	fx.prefixB = tb.Prefix
	if _, err := store.CreateOperator(ctx, fx.operator); err != nil {
		t.Fatal(err)
	}
	ot, err := store.CreateOperatorToken(ctx, fx.operator, licensing.TokenRequest{Name: "spare"})
	if err != nil {
		t.Fatal(err)
	}
	fx.operatorPrefix = ot.Prefix
	return fx
}

// request builds the matrix's request to a route: with the caller's own
// objects, or (other) with account B's. Bodies are valid JSON that changes
// nothing lasting, so the order of the calls does not matter.
func (fx *matrixFixture) request(route string, other bool) (method, path string, body []byte) {
	method, path, _ = strings.Cut(route, " ")
	key, plan, prefix := fx.keyA, fx.planA, "lct_zzzzzzzz"
	if other {
		key, plan, prefix = fx.keyB, fx.planB, fx.prefixB
	}
	path = strings.NewReplacer("{key}", key, "{sku}", "backup-desktop", "{email}", fx.a, "{name}", fx.operator).Replace(path)
	switch {
	case strings.HasPrefix(path, "/v1/maintenance/"):
		path = strings.Replace(path, "{id}", plan, 1)
	case strings.HasPrefix(path, "/v1/lookup/purchases/"):
		path = strings.Replace(path, "{id}", fx.purchaseA, 1)
	case strings.HasPrefix(path, "/v1/operator-tokens/"):
		path = strings.Replace(path, "{prefix}", "lco_zzzzzzzz", 1)
	default:
		path = strings.Replace(path, "{prefix}", prefix, 1)
	}
	bodies := map[string]string{
		"PATCH /v1/licenses/{key}":             `{"allow_rm": true}`,
		"PATCH /v1/maintenance/{id}":           `{"auto_renew": true}`,
		"POST /v1/maintenance/{id}/assignment": fmt.Sprintf(`{"key": %q}`, fx.keyA),
		// Only scopes every caller allowed to create a token holds: a
		// token's scopes narrow its creator's.
		"POST /v1/tokens":                  `{"scopes": ["tokens:write"]}`,
		"POST /v1/operators/{name}/tokens": `{"scopes": ["operators:write"]}`,
		"PATCH /v1/accounts/{email}":       `{"disabled": false}`,
		"PATCH /v1/operators/{name}":       `{"disabled": false}`,
		"POST /v1/products":                `{"products": []}`,
	}
	switch {
	case bodies[route] != "":
		body = []byte(bodies[route])
	case method == http.MethodPost || method == http.MethodPatch:
		body = []byte(`{}`)
	}
	if strings.HasSuffix(path, "/download") {
		path += "?os=windows"
	}
	return method, path, body
}

// otherAccountRoutes are the routes naming an account's object in their
// path: another account's object is not found, as if it did not exist.
func otherAccountRoutes() []string {
	return []string{"GET /v1/licenses/{key}", "PATCH /v1/licenses/{key}", "GET /v1/licenses/{key}/download",
		"PATCH /v1/maintenance/{id}", "POST /v1/maintenance/{id}/assignment", "DELETE /v1/tokens/{prefix}"}
}

// RunMatrix calls every route of the server with every kind of caller - no
// token, account tokens of each scope, operator tokens of each scope, for
// no account and on an account's behalf - and checks that each gets what
// the route's access rule (httpapi.Server.Permissions, the table
// docs/permissions.md shows) says. store must hold the default catalog and
// run on clock, which the matrix moves forward.
func RunMatrix(t *testing.T, store Store, clock *contract.Clock) {
	ctx := context.Background()
	fx := newMatrixFixture(t, store)
	server := httpapi.NewServer(store, httpapi.Options{Rate: 1e6, Burst: 1e6, Clock: clock, MaxTokensPerAccount: 1000,
		Mailer: &mail.Outbox{Dir: filepath.Join(t.TempDir(), "outbox"), From: "licensectl@example.org", Clock: clock}})
	srv := httptest.NewServer(openapicheck.LoadDoc(t).Wrap(t, server))
	t.Cleanup(srv.Close)

	accountToken := func(name string, scopes ...licensing.Scope) Caller {
		tok, err := store.CreateToken(licensing.WithAccount(ctx, fx.a), licensing.TokenRequest{Name: name, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return Caller{Name: name, Token: tok.Secret, Kind: licensing.KindAccount, Scopes: tok.Scopes, own: fx.a}
	}
	operatorToken := func(name string, scopes ...licensing.Scope) Caller {
		tok, err := store.CreateOperatorToken(ctx, fx.operator, licensing.TokenRequest{Name: name, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return Caller{Name: name, Token: tok.Secret, Kind: licensing.KindOperator, Scopes: tok.Scopes}
	}
	callers := []Caller{{Name: "no token"}, accountToken("account, default scopes")}
	for _, s := range licensing.AccountScopes() {
		callers = append(callers, accountToken("account, "+s, s))
	}
	full := operatorToken("operator, every scope")
	callers = append(callers, full)
	for _, s := range licensing.OperatorScopes() {
		callers = append(callers, operatorToken("operator, "+s, s))
	}
	onBehalf := func(c Caller, email string) Caller {
		c.Name += " for " + email
		c.OnBehalf = email
		return c
	}
	callers = append(callers,
		onBehalf(full, fx.a),
		onBehalf(operatorToken("operator, impersonate only", licensing.ScopeImpersonate), fx.a),
		onBehalf(operatorToken("operator, lookup only", licensing.ScopeLookup), fx.a),
		onBehalf(callers[1], fx.b)) // an account's token naming another account

	perms := server.Permissions()
	calls := 0
	for _, c := range callers {
		for _, perm := range perms {
			want, scope := c.Expect(perm)
			method, path, body := fx.request(perm.Route, false)
			got := call(t, srv.URL, c, method, path, body)
			calls++
			if msg := got.judge(want, scope); msg != "" {
				t.Errorf("%s as %s: want %s, got %s", perm.Route, c.Name, want, msg)
			}
		}
	}

	// Another account's objects are not found, for its peer's token and an
	// operator acting for the peer alike.
	for _, c := range []Caller{callers[1], onBehalf(full, fx.a)} {
		for _, route := range otherAccountRoutes() {
			method, path, body := fx.request(route, true)
			if got := call(t, srv.URL, c, method, path, body); got.status != http.StatusNotFound {
				t.Errorf("%s on account B's object as %s: want 404, got %d %s", route, c.Name, got.status, got.detail)
			}
			calls++
		}
	}
	// B's token survived A's attempts to revoke it.
	if ts, err := store.ListTokens(licensing.WithAccount(ctx, fx.b)); err != nil || len(ts) != 1 || ts[0].RevokedAt != nil {
		t.Errorf("account B's token after the matrix: %+v, %v", ts, err)
	}

	// Expired tokens, and tokens of a disabled operator or account, are
	// refused with a message that says why.
	short, err := store.CreateToken(licensing.WithAccount(ctx, fx.a), licensing.TokenRequest{Name: "short", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	shortCaller := Caller{Name: "short-lived", Token: short.Secret, Kind: licensing.KindAccount, own: fx.a}
	if got := call(t, srv.URL, shortCaller, "GET", "/v1/account", nil); got.status != http.StatusOK {
		t.Errorf("a token before it expires: %d %s", got.status, got.detail)
	}
	clock.Add(time.Hour)
	if got := call(t, srv.URL, shortCaller, "GET", "/v1/account", nil); got.status != http.StatusUnauthorized || !strings.Contains(got.detail, "expired") {
		t.Errorf("an expired token: want 401 saying it expired, got %d %s", got.status, got.detail)
	}
	if _, err := store.SetOperatorDisabled(ctx, fx.operator, true); err != nil {
		t.Fatal(err)
	}
	if got := call(t, srv.URL, full, "GET", "/v1/accounts", nil); got.status != http.StatusUnauthorized || !strings.Contains(got.detail, "disabled") {
		t.Errorf("a disabled operator's token: want 401 saying so, got %d %s", got.status, got.detail)
	}
	if _, err := store.SetAccountDisabled(ctx, fx.a, true); err != nil {
		t.Fatal(err)
	}
	if got := call(t, srv.URL, callers[1], "GET", "/v1/licenses", nil); got.status != http.StatusUnauthorized || !strings.Contains(got.detail, "disabled") {
		t.Errorf("a disabled account's token: want 401 saying so, got %d %s", got.status, got.detail)
	}
	t.Logf("permission matrix: %d routes × %d callers, %d requests", len(perms), len(callers), calls)
}

// answer is what a matrix request got.
type answer struct {
	status       int
	code, detail string
}

func call(t *testing.T, base string, c Caller, method, path string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.OnBehalf != "" {
		req.Header.Set(httpapi.AccountHeader, c.OnBehalf)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		json.Unmarshal(data, &p)
		a.code, a.detail = p.Code, p.Detail
	}
	return a
}

// judge compares an answer with the outcome expected; "" when it matches,
// else what was got. A refusal by the access rules is told from a handler's
// answer by its status and message; anything else passed them.
func (a answer) judge(want Outcome, scope licensing.Scope) string {
	got := fmt.Sprintf("%d %s: %s", a.status, a.code, a.detail)
	needsAccount := a.status == http.StatusBadRequest && strings.Contains(a.detail, "an operator's token acts on it for an account")
	otherAccount := a.status == http.StatusBadRequest && strings.Contains(a.detail, "is not the API token's account")
	scopeRefused := a.status == http.StatusForbidden && a.code == licensing.EFORBIDDEN
	switch want {
	case Allowed:
		if a.status == http.StatusUnauthorized || scopeRefused || needsAccount || otherAccount || a.status >= 500 {
			return got
		}
	case Unauthorized:
		if a.status != http.StatusUnauthorized {
			return got
		}
	case Forbidden:
		if !scopeRefused || !strings.Contains(a.detail, "the "+scope+" scope") {
			return got
		}
	case NeedsAccount:
		if !needsAccount {
			return got
		}
	case OtherAccount:
		if !otherAccount {
			return got
		}
	case NotFound:
		if a.status != http.StatusNotFound {
			return got
		}
	}
	return ""
}
