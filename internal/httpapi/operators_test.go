package httpapi

import (
	"context"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"go.yaml.in/yaml/v3"
)

// opFixture is a server on a fresh store with an operator alice (a token
// with every operator scope) and an account a@example.com that bought two
// licenses, each with a client; every exchange is checked against
// docs/openapi.yaml.
type opFixture struct {
	*fixture
	clock       *contract.Clock
	alice       *Client // alice's operator token
	alicePrefix string
	acct        *Client // a@example.com's own token (every account scope)
	acctToken   string
	purchase    *licensing.Purchase
}

func setupOperators(t *testing.T) *opFixture {
	t.Helper()
	clock := contract.NewClock(contract.Start())
	store, srv, _ := newServer(t, clock, Options{Rate: 1e9, Burst: 1 << 30})
	fx := &opFixture{fixture: &fixture{store: store, srv: srv}, clock: clock}
	ctx := context.Background()
	if _, err := store.CreateOperator(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, "lco_") || tok.Operator != "alice" || !slices.Equal(tok.Scopes, licensing.OperatorScopes()) {
		t.Fatalf("operator token %+v", tok)
	}
	fx.alice, fx.alicePrefix = fx.client(t, tok.Secret), tok.Prefix
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	at, err := store.CreateToken(a, licensing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	fx.acct, fx.acctToken = fx.client(t, at.Secret), at.Secret
	if fx.purchase, err = store.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	fx.key, fx.pid = fx.purchase.Licenses[0], fx.purchase.ID
	return fx
}

// client is a client of the fixture's server with token that does not
// retry: a refusal is the answer under test.
func (fx *opFixture) client(t *testing.T, token string) *Client {
	t.Helper()
	c, err := NewClient(fx.srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	c.RetryFor = -1
	t.Cleanup(func() { c.Close() })
	return c
}

// wantErr fails unless err is the domain error code whose message holds
// every one of want.
func wantErr(t *testing.T, what string, err error, code string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := licensing.ErrorCode(err); got != code {
		t.Fatalf("%s: code %s (%v), want %s", what, got, err, code)
	}
	for _, w := range want {
		if !strings.Contains(licensing.ErrorMessage(err), w) {
			t.Fatalf("%s: message %q, want it to hold %q", what, licensing.ErrorMessage(err), w)
		}
	}
}

func TestOperatorManagesAccounts(t *testing.T) {
	fx := setupOperators(t)
	ctx := context.Background()

	acc, err := fx.alice.CreateAccount(ctx, "C@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Email != "c@example.com" || !acc.CreatedAt.Equal(contract.Start()) || acc.DisabledAt != nil || acc.Attached != 0 {
		t.Fatalf("created %+v", acc)
	}
	_, err = fx.alice.CreateAccount(ctx, "c@example.com")
	wantErr(t, "second create", err, licensing.ECONFLICT, "account c@example.com already exists")

	list, err := fx.alice.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, a := range list {
		emails = append(emails, a.Email)
	}
	if !slices.Equal(emails, []string{"a@example.com", "c@example.com"}) {
		t.Fatalf("accounts %q", emails)
	}

	// Disabled, the account's token stops working at once; enabled, it
	// works again.
	if _, err := fx.acct.ListCompanies(ctx); err != nil {
		t.Fatal(err)
	}
	fx.clock.Add(time.Hour)
	off, err := fx.alice.SetAccountDisabled(ctx, "a@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	if off.Email != "a@example.com" || off.DisabledAt == nil || !off.DisabledAt.Equal(contract.Start().Add(time.Hour)) {
		t.Fatalf("disabled %+v", off)
	}
	_, err = fx.acct.ListCompanies(ctx)
	wantErr(t, "disabled account's token", err, licensing.EUNAUTHORIZED, "account a@example.com is disabled")
	list, err = fx.alice.ListAccounts(ctx)
	if err != nil || list[0].Email != "a@example.com" || list[0].DisabledAt == nil || list[1].DisabledAt != nil {
		t.Fatalf("accounts after disable: %+v, %v", list, err)
	}
	on, err := fx.alice.SetAccountDisabled(ctx, "a@example.com", false)
	if err != nil || on.DisabledAt != nil {
		t.Fatalf("enabled %+v, %v", on, err)
	}
	if _, err := fx.acct.ListCompanies(ctx); err != nil {
		t.Fatalf("enabled account's token: %v", err)
	}
	_, err = fx.alice.SetAccountDisabled(ctx, "nobody@example.com", true)
	wantErr(t, "disable an unknown account", err, licensing.ENOTFOUND, "no account nobody@example.com")

	// The vendor's routes are not an account's: its token gets 403.
	_, err = fx.acct.CreateAccount(ctx, "d@example.com")
	wantErr(t, "account token creates an account", err, licensing.EFORBIDDEN,
		"this needs an operator token with the accounts:write scope; an account's token cannot have it")
	resp, body := fx.request(t, "GET", "/v1/accounts", fx.acctToken, "")
	wantProblem(t, resp, body, http.StatusForbidden, licensing.EFORBIDDEN)
	if !strings.Contains(body, "the lookup scope") {
		t.Fatalf("GET /v1/accounts with an account token: %s", body)
	}
	// An account's token lists just its own account (GET /v1/account).
	mine, err := fx.acct.ListAccounts(ctx)
	if err != nil || len(mine) != 1 || mine[0].Email != "a@example.com" {
		t.Fatalf("an account token's accounts: %+v, %v", mine, err)
	}
}

func TestOperatorCatalogAndSigningKeys(t *testing.T) {
	fx := setupOperators(t)
	ctx := context.Background()

	n, err := fx.alice.ImportProducts(ctx, []licensing.Product{
		{SKU: "Backup-NAS", Name: "Backup NAS", Term: "Perpetual", Edition: "server", PriceCents: 5999, Platforms: []string{"linux"}},
		{SKU: "priority-queue", Name: "Priority queue", Term: "addon", PriceCents: 500},
	})
	if err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	products, err := fx.acct.ListProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(products, func(p licensing.Product) bool { return p.SKU == "backup-nas" })
	if i < 0 {
		t.Fatalf("backup-nas not listed: %+v", products)
	}
	if p := products[i]; p.Name != "Backup NAS" || p.Term != licensing.TermPerpetual || p.PriceCents != 5999 ||
		p.MaintenancePriceCents != licensing.MaintenancePrice(5999) || !slices.Equal(p.Platforms, []string{"linux"}) ||
		p.Seats != 1 || p.Currency != "USD" {
		t.Fatalf("imported %+v", p)
	}
	_, err = fx.alice.ImportProducts(ctx, []licensing.Product{{SKU: "x", Name: "X", Term: "forever"}})
	wantErr(t, "import a bad term", err, licensing.EINVALID, "invalid term of x")
	_, err = fx.acct.ImportProducts(ctx, []licensing.Product{{SKU: "y", Name: "Y", Term: "addon"}})
	wantErr(t, "account token imports", err, licensing.EFORBIDDEN, "catalog:write")

	before, err := fx.acct.SigningKeys(ctx)
	if err != nil || len(before) != 1 || !before[0].Current {
		t.Fatalf("keys before: %+v, %v", before, err)
	}
	fx.clock.Add(time.Minute)
	k, err := fx.alice.RotateSigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Current || k.ID == before[0].ID || len(k.PublicKey) != 32 || k.RetiredAt != nil {
		t.Fatalf("new key %+v", k)
	}
	after, err := fx.acct.SigningKeys(ctx)
	if err != nil || len(after) != 2 {
		t.Fatalf("keys after: %+v, %v", after, err)
	}
	if after[0].ID != k.ID || !after[0].Current || after[0].RetiredAt != nil ||
		after[1].ID != before[0].ID || after[1].Current || after[1].RetiredAt == nil ||
		!after[1].RetiredAt.Equal(contract.Start().Add(time.Minute)) {
		t.Fatalf("keys after the rotation: %+v", after)
	}
	_, err = fx.acct.RotateSigningKey(ctx)
	wantErr(t, "account token rotates", err, licensing.EFORBIDDEN, "keys:write")
}

func TestOperatorsAndTheirTokens(t *testing.T) {
	fx := setupOperators(t)
	ctx := context.Background()

	bob, err := fx.alice.CreateOperator(ctx, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	if bob.Name != "bob" || bob.Tokens != 0 || bob.DisabledAt != nil || !bob.CreatedAt.Equal(contract.Start()) {
		t.Fatalf("created %+v", bob)
	}
	_, err = fx.alice.CreateOperator(ctx, "bob")
	wantErr(t, "second create", err, licensing.ECONFLICT, "operator bob already exists")
	_, err = fx.alice.CreateOperator(ctx, "no spaces")
	wantErr(t, "bad name", err, licensing.EINVALID, "invalid operator name")

	// A narrower token for bob: it may look up, nothing else.
	fx.clock.Add(time.Minute)
	bt, err := fx.alice.CreateOperatorToken(ctx, "bob", licensing.TokenRequest{Name: "support desk", Scopes: []string{"Lookup"}, ExpiresIn: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bt.Secret, "lco_") || bt.Prefix != bt.Secret[:12] || bt.Operator != "bob" || bt.Account != "" ||
		bt.Name != "support desk" || !slices.Equal(bt.Scopes, []string{licensing.ScopeLookup}) ||
		bt.ExpiresAt == nil || !bt.ExpiresAt.Equal(contract.Start().Add(time.Minute+24*time.Hour)) {
		t.Fatalf("bob's token %+v", bt)
	}
	bc := fx.client(t, bt.Secret)
	me, err := bc.Whoami(ctx)
	if err != nil || me.Kind != licensing.KindOperator || me.Operator != "bob" || me.Email != "" || me.OnBehalfOf ||
		!slices.Equal(me.Scopes, []string{"lookup"}) || me.Token != bt.Prefix || me.ExpiresAt == nil {
		t.Fatalf("bob's whoami %+v, %v", me, err)
	}
	if _, err := bc.FindLicense(ctx, fx.key); err != nil {
		t.Fatalf("bob looks up: %v", err)
	}
	_, err = bc.ListOperators(ctx)
	wantErr(t, "bob lists operators", err, licensing.EFORBIDDEN, "this token lacks the operators:write scope")

	// A token creating another cannot hand on a scope it lacks.
	narrow, err := fx.store.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{Scopes: []string{licensing.ScopeOperatorsWrite}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fx.client(t, narrow.Secret).CreateOperatorToken(ctx, "bob", licensing.TokenRequest{Scopes: []string{licensing.ScopeLookup}})
	wantErr(t, "hand on a scope it lacks", err, licensing.EFORBIDDEN, "a token cannot have the lookup scope: the token creating it lacks it")
	_, err = fx.alice.CreateOperatorToken(ctx, "bob", licensing.TokenRequest{Scopes: []string{licensing.ScopeLicensesRead}})
	wantErr(t, "an account scope on an operator token", err, licensing.EINVALID, `unknown scope "licenses:read"`)

	ops, err := fx.alice.ListOperators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].Name != "alice" || ops[0].Tokens != 2 || ops[1].Name != "bob" || ops[1].Tokens != 1 {
		t.Fatalf("operators %+v", ops)
	}

	toks, err := fx.alice.ListOperatorTokens(ctx, "bob")
	if err != nil || len(toks) != 1 {
		t.Fatalf("bob's tokens %+v, %v", toks, err)
	}
	if tk := toks[0]; tk.Prefix != bt.Prefix || tk.Secret != "" || tk.Operator != "bob" || tk.Name != "support desk" ||
		tk.RevokedAt != nil || tk.LastUsed == nil || !slices.Equal(tk.Scopes, []string{"lookup"}) {
		t.Fatalf("bob's token listed %+v", tk)
	}
	_, err = fx.alice.ListOperatorTokens(ctx, "carol")
	wantErr(t, "an unknown operator's tokens", err, licensing.ENOTFOUND, `no operator "carol"`)

	// Revoked, the token is refused; revoking it again is 404.
	if err := fx.alice.RevokeOperatorToken(ctx, bt.Prefix); err != nil {
		t.Fatal(err)
	}
	_, err = bc.Whoami(ctx)
	wantErr(t, "a revoked token", err, licensing.EUNAUTHORIZED)
	err = fx.alice.RevokeOperatorToken(ctx, bt.Prefix)
	wantErr(t, "revoke again", err, licensing.ENOTFOUND, "no active operator token")
	if toks, err = fx.alice.ListOperatorTokens(ctx, "bob"); err != nil || len(toks) != 1 || toks[0].RevokedAt == nil {
		t.Fatalf("bob's tokens after revoke %+v, %v", toks, err)
	}

	// Disabled, bob's tokens stop working and he gets no new one; enabled,
	// they work again. Nobody disables himself.
	bt2, err := fx.alice.CreateOperatorToken(ctx, "bob", licensing.TokenRequest{})
	if err != nil || !slices.Equal(bt2.Scopes, licensing.OperatorScopes()) || bt2.ExpiresAt != nil {
		t.Fatalf("bob's second token %+v, %v", bt2, err)
	}
	bc2 := fx.client(t, bt2.Secret)
	off, err := fx.alice.SetOperatorDisabled(ctx, "bob", true)
	if err != nil || off.DisabledAt == nil || off.Name != "bob" {
		t.Fatalf("disabled %+v, %v", off, err)
	}
	_, err = bc2.Whoami(ctx)
	wantErr(t, "a disabled operator's token", err, licensing.EUNAUTHORIZED, "operator bob is disabled")
	_, err = fx.alice.CreateOperatorToken(ctx, "bob", licensing.TokenRequest{})
	wantErr(t, "a token for a disabled operator", err, licensing.ECONFLICT, "operator bob is disabled")
	if on, err := fx.alice.SetOperatorDisabled(ctx, "bob", false); err != nil || on.DisabledAt != nil {
		t.Fatalf("enabled %+v, %v", on, err)
	}
	if _, err := bc2.ListOperators(ctx); err != nil {
		t.Fatalf("bob enabled: %v", err)
	}
	_, err = fx.alice.SetOperatorDisabled(ctx, "alice", true)
	wantErr(t, "disable oneself", err, licensing.EINVALID, "an operator cannot disable itself")

	// An account's token manages no operator.
	_, err = fx.acct.CreateOperator(ctx, "mallory")
	wantErr(t, "account token creates an operator", err, licensing.EFORBIDDEN, "operators:write")
	resp, body := fx.request(t, "DELETE", "/v1/operator-tokens/"+bt2.Prefix, fx.acctToken, "")
	wantProblem(t, resp, body, http.StatusForbidden, licensing.EFORBIDDEN)
}

func TestOperatorLooksUpAndSuspends(t *testing.T) {
	fx := setupOperators(t)
	ctx := context.Background()

	owner, err := fx.alice.FindLicense(ctx, strings.ToLower(fx.key))
	if err != nil {
		t.Fatal(err)
	}
	if owner.Account == nil || *owner.Account != "a@example.com" || owner.License == nil || owner.License.Key != fx.key ||
		owner.License.Product != "backup-server" || owner.License.PurchaseID != fx.pid ||
		owner.License.Status != "not_activated" || owner.License.Validity != "valid" || owner.License.Usage != "unused" {
		t.Fatalf("license owner %v: %+v", owner.Account, owner.License)
	}
	// The license as its account's own list shows it.
	var own *licensing.License
	if err := fx.acct.ListLicenses(ctx, licensing.LicenseFilter{Search: fx.key}, func(l *licensing.License) error {
		own = l
		return nil
	}); err != nil || own == nil {
		t.Fatalf("the account's license: %v", err)
	}
	if !reflect.DeepEqual(*own, *owner.License) {
		t.Fatalf("found %+v, the account lists %+v", *owner.License, *own)
	}
	pur, err := fx.alice.FindPurchase(ctx, strings.ToLower(fx.pid))
	if err != nil {
		t.Fatal(err)
	}
	if pur.PurchaseID != fx.pid || pur.Buyer != "a@example.com" || pur.PurchaseEmail != "a@example.com" ||
		pur.TotalCents != fx.purchase.TotalCents || pur.Currency != "USD" || len(pur.Licenses) != 2 {
		t.Fatalf("purchase owner %+v", pur)
	}
	for i, l := range pur.Licenses {
		if l.Key != fx.purchase.Licenses[i] || l.Product != "backup-server" || l.Account == nil || *l.Account != "a@example.com" || l.Company != nil {
			t.Fatalf("purchase license %d: %+v", i, l)
		}
	}
	_, err = fx.alice.FindPurchase(ctx, "P-222222222222")
	wantErr(t, "an unknown purchase", err, licensing.ENOTFOUND, "purchase P-222222222222 not found")
	_, err = fx.alice.FindLicense(ctx, "not-a-key")
	wantErr(t, "a malformed key", err, licensing.EINVALID)
	_, err = fx.acct.FindLicense(ctx, fx.key)
	wantErr(t, "an account token looks up", err, licensing.EFORBIDDEN, "lookup")

	// A support engineer suspends a key alone: no account named.
	if v, err := fx.acct.ValidateLicense(ctx, fx.key, "", ""); err != nil || v.Code == "SUSPENDED" {
		t.Fatalf("before: %+v, %v", v, err)
	}
	yes := true
	if _, err := fx.alice.UpdateLicense(ctx, fx.key, licensing.LicenseUpdate{Suspended: &yes}); err != nil {
		t.Fatal(err)
	}
	v, err := fx.acct.ValidateLicense(ctx, fx.key, "", "")
	if err != nil || v.Code != "SUSPENDED" || v.Valid {
		t.Fatalf("after the suspension: %+v, %v", v, err)
	}
	// Without an account only the suspension changes; the customer cannot
	// lift it.
	_, err = fx.alice.UpdateLicense(ctx, fx.key, licensing.LicenseUpdate{AllowRM: &yes})
	wantErr(t, "another change without an account", err, licensing.EINVALID, "only --suspended changes a license without an acting account")
	no := false
	_, err = fx.acct.UpdateLicense(ctx, fx.key, licensing.LicenseUpdate{Suspended: &no})
	wantErr(t, "the customer lifts the suspension", err, licensing.EFORBIDDEN, "licenses:suspend")
	if v, _ := fx.acct.ValidateLicense(ctx, fx.key, "", ""); v == nil || v.Code != "SUSPENDED" {
		t.Fatalf("after the customer's try: %+v", v)
	}
	ev, err := fx.acct.ListAudit(ctx, licensing.AuditFilter{Action: "license.update", Object: fx.key})
	if err != nil || len(ev) != 1 || ev[0].Actor != "operator alice via api token "+fx.alicePrefix || ev[0].OnBehalfOf != nil {
		t.Fatalf("the suspension's audit event: %+v, %v", ev, err)
	}
}

func TestOperatorActsOnBehalfOfAnAccount(t *testing.T) {
	fx := setupOperators(t)
	ctx := context.Background()
	forA := licensing.WithAccount(ctx, "a@example.com")

	me, err := fx.alice.Whoami(forA)
	if err != nil || me.Kind != licensing.KindOperator || me.Operator != "alice" || me.Email != "a@example.com" || !me.OnBehalfOf ||
		!slices.Contains(me.Scopes, licensing.ScopeLicensesRead) || !slices.Contains(me.Scopes, licensing.ScopeImpersonate) {
		t.Fatalf("whoami for a: %+v, %v", me, err)
	}
	co, err := fx.alice.CreateCompany(forA, "Initech")
	if err != nil || co.Name != "Initech" {
		t.Fatalf("company %+v, %v", co, err)
	}
	cos, err := fx.acct.ListCompanies(ctx)
	if err != nil || len(cos) != 1 || cos[0].Name != "Initech" {
		t.Fatalf("the account's companies %+v, %v", cos, err)
	}
	var keys []string
	if err := fx.alice.ListLicenses(forA, licensing.LicenseFilter{}, func(l *licensing.License) error {
		keys = append(keys, l.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(fx.purchase.Licenses))
	if !slices.Equal(keys, want) {
		t.Fatalf("licenses for a: %q, want %q", keys, want)
	}
	d, err := fx.alice.GetLicense(forA, fx.key)
	if err != nil || d.Key != fx.key {
		t.Fatalf("license for a: %+v, %v", d, err)
	}

	// The audit log names the operator and the account acted for, to the
	// operator and to the account itself.
	for name, c := range map[string]struct {
		cl  *Client
		ctx context.Context
	}{"operator": {fx.alice, forA}, "account": {fx.acct, ctx}} {
		ev, err := c.cl.ListAudit(c.ctx, licensing.AuditFilter{Action: "company.create"})
		if err != nil || len(ev) != 1 {
			t.Fatalf("%s: company.create events %+v, %v", name, ev, err)
		}
		if ev[0].Actor != "operator alice via api token "+fx.alicePrefix || ev[0].OnBehalfOf == nil ||
			*ev[0].OnBehalfOf != "a@example.com" || ev[0].Object != "Initech" {
			t.Fatalf("%s: event %+v", name, ev[0])
		}
	}

	// An account's data needs an account named, impersonate, and an
	// account that exists.
	_, err = fx.alice.ListCompanies(ctx)
	wantErr(t, "no account named", err, licensing.EINVALID, "this is an account's data")
	_, err = fx.alice.ListCompanies(licensing.WithAccount(ctx, "nobody@example.com"))
	wantErr(t, "an unknown account", err, licensing.ENOTFOUND, "no account nobody@example.com")
	lookup, err := fx.store.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{Scopes: []string{licensing.ScopeLookup}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fx.client(t, lookup.Secret).ListCompanies(forA)
	wantErr(t, "without impersonate", err, licensing.EFORBIDDEN, "this token lacks the impersonate scope")

	// An account's token may name its own account, and no other.
	if cos, err := fx.acct.ListCompanies(forA); err != nil || len(cos) != 1 {
		t.Fatalf("the account's token naming its account: %+v, %v", cos, err)
	}
	if _, err := fx.store.CreateAccount(ctx, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = fx.acct.ListCompanies(licensing.WithAccount(ctx, "b@example.com"))
	wantErr(t, "an account's token naming another", err, licensing.EINVALID,
		"the acting account b@example.com is not the API token's account a@example.com")
}

func TestScopedAndExpiringAccountTokens(t *testing.T) {
	fx := setupOperators(t)
	ctx := context.Background()
	a := licensing.WithAccount(ctx, "a@example.com")

	// A token with activations:write and validate validates but cannot buy.
	st, err := fx.store.CreateToken(a, licensing.TokenRequest{Scopes: licensing.ParseScopes("activations:write,validate")})
	if err != nil {
		t.Fatal(err)
	}
	sc := fx.client(t, st.Secret)
	if v, err := sc.ValidateLicense(ctx, fx.key, "", ""); err != nil || v.Code != "VALID" {
		t.Fatalf("the scoped token validates: %+v, %v", v, err)
	}
	me, err := sc.Whoami(ctx)
	if err != nil || me.Kind != licensing.KindAccount || me.Email != "a@example.com" || me.Operator != "" ||
		!slices.Equal(me.Scopes, []string{"activations:write", "validate"}) || me.Token != st.Prefix || me.ExpiresAt != nil {
		t.Fatalf("the scoped token's whoami %+v, %v", me, err)
	}
	_, err = sc.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
	wantErr(t, "the scoped token buys", err, licensing.EFORBIDDEN)
	if msg := licensing.ErrorMessage(err); msg != "this token lacks the purchases:write scope" {
		t.Fatalf("the scoped token buys: %q", msg)
	}

	// Over the API: a token with a name, fewer scopes and a lifetime; none
	// with a scope the creating token lacks.
	nt, err := fx.acct.CreateToken(ctx, licensing.TokenRequest{Name: "ci", Scopes: []string{"VALIDATE"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nt.Secret, "lct_") || nt.Account != "a@example.com" || nt.Operator != "" || nt.Name != "ci" ||
		!slices.Equal(nt.Scopes, []string{"validate"}) || nt.ExpiresAt == nil || !nt.ExpiresAt.Equal(contract.Start().Add(time.Hour)) {
		t.Fatalf("new token %+v", nt)
	}
	tw, err := fx.store.CreateToken(a, licensing.TokenRequest{Scopes: []string{licensing.ScopeTokensWrite}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fx.client(t, tw.Secret).CreateToken(ctx, licensing.TokenRequest{Scopes: []string{licensing.ScopePurchasesWrite}})
	wantErr(t, "hand on a scope it lacks", err, licensing.EFORBIDDEN, "a token cannot have the purchases:write scope")
	_, err = fx.acct.CreateToken(ctx, licensing.TokenRequest{Scopes: []string{licensing.ScopeLookup}})
	wantErr(t, "an operator scope on an account token", err, licensing.EINVALID, `unknown scope "lookup"`)
	_, err = fx.acct.CreateToken(ctx, licensing.TokenRequest{ExpiresIn: 30 * time.Second})
	wantErr(t, "too short a lifetime", err, licensing.EINVALID, "too short")
	// A lifetime a time.Duration cannot hold is refused, not wrapped
	// around to a minute.
	resp, body := fx.request(t, "POST", "/v1/tokens", fx.acctToken, `{"expires_in":18446744134}`)
	wantProblem(t, resp, body, http.StatusBadRequest, licensing.EINVALID)
	if !strings.Contains(body, "too long") {
		t.Fatalf("an overlong lifetime: %s", body)
	}
	// A body of null is no token request (encoding/json would read it as
	// the zero one), nor is it no body.
	resp, body = fx.request(t, "POST", "/v1/tokens", fx.acctToken, "null")
	wantProblem(t, resp, body, http.StatusBadRequest, licensing.EINVALID)
	toks, err := fx.acct.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, tk := range toks {
		prefixes = append(prefixes, tk.Prefix)
		if tk.Account != "a@example.com" || tk.Secret != "" {
			t.Fatalf("listed token %+v", tk)
		}
	}
	if !slices.Contains(prefixes, nt.Prefix) || !slices.Contains(prefixes, st.Prefix) {
		t.Fatalf("tokens %q, want %s and %s among them", prefixes, nt.Prefix, st.Prefix)
	}

	// A token that expires is refused once its time has come.
	et, err := fx.store.CreateToken(a, licensing.TokenRequest{ExpiresIn: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ec := fx.client(t, et.Secret)
	if me, err := ec.Whoami(ctx); err != nil || me.ExpiresAt == nil || !me.ExpiresAt.Equal(contract.Start().Add(time.Minute)) {
		t.Fatalf("before it expires: %+v, %v", me, err)
	}
	fx.clock.Add(time.Minute)
	_, err = ec.Whoami(ctx)
	wantErr(t, "an expired token", err, licensing.EUNAUTHORIZED, "expired")
	_, err = fx.client(t, nt.Secret).ValidateLicense(ctx, fx.key, "", "")
	if err != nil {
		t.Fatalf("the hour token after a minute: %v", err)
	}
}

// Each operation of docs/openapi.yaml says who may call it, as the route's
// access rule does: x-licensectl-access matches Server.Permissions, and
// every operation that takes a token takes Licensectl-Account and lists 403.
func TestOpenAPIAccess(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type operation struct {
		Security *[]map[string][]string `yaml:"security"`
		Access   *struct {
			Account  string `yaml:"account"`
			Operator string `yaml:"operator"`
			OnBehalf bool   `yaml:"on_behalf"`
		} `yaml:"x-licensectl-access"`
		Description string               `yaml:"description"`
		Parameters  []map[string]any     `yaml:"parameters"`
		Responses   map[string]yaml.Node `yaml:"responses"`
	}
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	perms := (&Server{}).Permissions()
	if len(perms) == 0 {
		t.Fatal("no routes")
	}
	for _, p := range perms {
		method, path, _ := strings.Cut(p.Route, " ")
		node, ok := spec.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s: not in the document", p.Route)
			continue
		}
		var op operation
		if err := node.Decode(&op); err != nil {
			t.Fatalf("%s: %v", p.Route, err)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != p.Public {
			t.Errorf("%s: public %v in the document, %v served", p.Route, public, p.Public)
		}
		if p.Public {
			if op.Access != nil {
				t.Errorf("%s: public, but x-licensectl-access %+v", p.Route, *op.Access)
			}
			continue
		}
		if op.Access == nil {
			t.Errorf("%s: no x-licensectl-access", p.Route)
			continue
		}
		if op.Access.Account != p.Account || op.Access.Operator != p.Operator || op.Access.OnBehalf != p.OnBehalf {
			t.Errorf("%s: x-licensectl-access %+v, served account %q operator %q on_behalf %v",
				p.Route, *op.Access, p.Account, p.Operator, p.OnBehalf)
		}
		for _, scope := range []string{p.Account, p.Operator} {
			if scope != "" && scope != anyScope && !strings.Contains(op.Description, "`"+scope+"`") {
				t.Errorf("%s: the description does not name the %s scope", p.Route, scope)
			}
		}
		if !slices.ContainsFunc(op.Parameters, func(m map[string]any) bool { return m["$ref"] == "#/components/parameters/AccountHeader" }) {
			t.Errorf("%s: no Licensectl-Account parameter", p.Route)
		}
		for _, status := range []string{"400", "401", "403"} {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s: no %s response", p.Route, status)
			}
		}
	}
	// The header the document names is the one the server reads.
	var doc struct {
		Components struct {
			Parameters map[string]struct {
				Name string `yaml:"name"`
				In   string `yaml:"in"`
			} `yaml:"parameters"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if h := doc.Components.Parameters["AccountHeader"]; h.Name != AccountHeader || h.In != "header" {
		t.Errorf("AccountHeader parameter %+v, the server reads header %s", h, AccountHeader)
	}
	// The Scope enumeration is every scope there is.
	var scopes struct {
		Components struct {
			Schemas struct {
				Scope struct {
					Enum []string `yaml:"enum"`
				} `yaml:"Scope"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &scopes); err != nil {
		t.Fatal(err)
	}
	if got, want := scopes.Components.Schemas.Scope.Enum, slices.Concat(licensing.AccountScopes(), licensing.OperatorScopes()); !slices.Equal(got, want) {
		t.Errorf("Scope enum %q, want %q", got, want)
	}
}
