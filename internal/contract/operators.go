package contract

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// operatorTests are the vendor's capabilities: operators and their tokens,
// scoped and expiring account tokens, look-ups across accounts, disabled
// accounts and suspension by key alone. Every backend has them: on the
// store host, or over the API with an operator's token.
func operatorTests() []struct {
	name string
	fn   func(*testing.T, *env)
} {
	return []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Operators", testOperators},
		{"OperatorTokens", testOperatorTokens},
		{"ScopedAccountTokens", testScopedAccountTokens},
		{"FindLicense", testFindLicense},
		{"FindPurchase", testFindPurchase},
		{"DisableAccount", testDisableAccount},
		{"SuspendByKeyAlone", testSuspendByKeyAlone},
	}
}

func testOperators(t *testing.T, e *env) {
	ctx := context.Background()
	op, err := e.svc.CreateOperator(ctx, "  Alice ")
	if err != nil {
		t.Fatal(err)
	}
	if op.Name != "alice" || !op.CreatedAt.Equal(e.clock.Now()) || op.DisabledAt != nil {
		t.Errorf("created %+v", op)
	}
	_, err = e.svc.CreateOperator(ctx, "ALICE")
	wantCode(t, err, licensing.ECONFLICT, "the same name twice")
	for _, bad := range []string{"", "-x", "a b", strings.Repeat("a", 65), "ü"} {
		_, err := e.svc.CreateOperator(ctx, bad)
		wantCode(t, err, licensing.EINVALID, "name "+bad)
	}
	if _, err := e.svc.CreateOperator(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	dis, err := e.svc.SetOperatorDisabled(ctx, "bob", true)
	if err != nil || dis.DisabledAt == nil || !dis.DisabledAt.Equal(e.clock.Now()) {
		t.Fatalf("disable: %+v %v", dis, err)
	}
	again, err := e.svc.SetOperatorDisabled(ctx, "bob", true)
	if err != nil || again.DisabledAt == nil || !again.DisabledAt.Equal(*dis.DisabledAt) {
		t.Errorf("disabling twice changes nothing: %+v %v", again, err)
	}
	_, err = e.svc.SetOperatorDisabled(ctx, "carol", true)
	wantCode(t, err, licensing.ENOTFOUND, "unknown operator")
	ops, err := e.svc.ListOperators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range ops {
		names = append(names, o.Name)
	}
	if !slices.Equal(names, []string{"alice", "bob"}) || ops[0].DisabledAt != nil || ops[1].DisabledAt == nil {
		t.Errorf("operators %+v", ops)
	}
	if en, err := e.svc.SetOperatorDisabled(ctx, "bob", false); err != nil || en.DisabledAt != nil {
		t.Errorf("enable: %+v %v", en, err)
	}
}

func testOperatorTokens(t *testing.T, e *env) {
	ctx := context.Background()
	if _, err := e.svc.CreateOperator(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{Name: "support desk",
		Scopes: []string{"Lookup", "licenses:suspend", "lookup"}, ExpiresIn: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, "lco_") || len(tok.Secret) != 36 || !strings.HasPrefix(tok.Secret, tok.Prefix) ||
		tok.Operator != "alice" || tok.Name != "support desk" ||
		!slices.Equal(tok.Scopes, []string{licensing.ScopeLicensesSuspend, licensing.ScopeLookup}) ||
		tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(e.clock.Now().Add(30*24*time.Hour)) {
		t.Errorf("token %+v", tok)
	}
	all, err := e.svc.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{})
	if err != nil || !slices.Equal(all.Scopes, licensing.OperatorScopes()) || all.ExpiresAt != nil {
		t.Errorf("a default operator token: %+v %v", all, err)
	}
	_, err = e.svc.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{Scopes: []string{"licenses:read"}})
	wantCode(t, err, licensing.EINVALID, "an account scope on an operator token")
	_, err = e.svc.CreateOperatorToken(ctx, "nobody", licensing.TokenRequest{})
	wantCode(t, err, licensing.ENOTFOUND, "unknown operator")
	ts, err := e.svc.ListOperatorTokens(ctx, "alice")
	if err != nil || len(ts) != 2 || ts[0].Prefix != tok.Prefix || ts[0].Secret != "" || ts[0].Name != "support desk" ||
		!slices.Equal(ts[0].Scopes, tok.Scopes) || ts[0].RevokedAt != nil {
		t.Fatalf("tokens %+v %v", ts, err)
	}
	if ops, err := e.svc.ListOperators(ctx); err != nil || len(ops) != 1 || ops[0].Tokens != 2 {
		t.Errorf("operators %+v %v", ops, err)
	}
	if err := e.svc.RevokeOperatorToken(ctx, tok.Prefix); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.RevokeOperatorToken(ctx, tok.Prefix), licensing.ENOTFOUND, "revoking twice")
	if ts, err := e.svc.ListOperatorTokens(ctx, "alice"); err != nil || ts[0].RevokedAt == nil {
		t.Errorf("after revoking: %+v %v", ts, err)
	}
	if _, err := e.svc.SetOperatorDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateOperatorToken(ctx, "alice", licensing.TokenRequest{})
	wantCode(t, err, licensing.ECONFLICT, "a token for a disabled operator")
}

func testScopedAccountTokens(t *testing.T, e *env) {
	ctx := e.account("ci@example.com")
	tok, err := e.svc.CreateToken(ctx, licensing.TokenRequest{Name: "build farm",
		Scopes: []string{"validate", "activations:write"}, ExpiresIn: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, "lct_") || tok.Name != "build farm" || tok.Account != "ci@example.com" ||
		!slices.Equal(tok.Scopes, []string{licensing.ScopeActivationsWrite, licensing.ScopeValidate}) ||
		tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Errorf("token %+v", tok)
	}
	for _, bad := range []licensing.TokenRequest{
		{Scopes: []string{"buy"}},
		{Scopes: []string{licensing.ScopeLookup}}, // an operator's
		{ExpiresIn: -time.Hour},
		{ExpiresIn: time.Second},
		{Name: strings.Repeat("n", 65)},
		{Name: "tab\there"},
	} {
		_, err := e.svc.CreateToken(ctx, bad)
		wantCode(t, err, licensing.EINVALID, "bad token request")
	}
	ts, err := e.svc.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *licensing.Token
	for i := range ts {
		if ts[i].Prefix == tok.Prefix {
			found = &ts[i]
		}
	}
	if found == nil || found.Name != "build farm" || !slices.Equal(found.Scopes, tok.Scopes) || found.ExpiresAt == nil ||
		!found.ExpiresAt.Equal(*tok.ExpiresAt) || found.Secret != "" {
		t.Errorf("listed %+v", found)
	}
	def, err := e.svc.CreateToken(ctx, licensing.TokenRequest{})
	if err != nil || !slices.Equal(def.Scopes, licensing.AccountScopes()) || def.ExpiresAt != nil || def.Name != "" {
		t.Errorf("a default token has every account scope and no expiry: %+v %v", def, err)
	}
}

func testFindLicense(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme Dental")
	key := e.buyOne(a, inCompany(line("backup-server", 1), "Acme Dental"), false)
	found, err := e.svc.FindLicense(context.Background(), " "+strings.ToLower(key)+" ")
	if err != nil {
		t.Fatal(err)
	}
	if found.Account == nil || *found.Account != "a@example.com" || found.License == nil || found.License.Key != key ||
		found.License.Company == nil || *found.License.Company != "Acme Dental" || found.License.Product != "backup-server" {
		t.Errorf("found %+v (license %+v)", found, found.License)
	}
	// Bought for an email that has no account yet: found, owned by no one.
	p := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-desktop", 1)}, PurchaseEmail: "later@example.com"})
	waiting, err := e.svc.FindLicense(context.Background(), p.Licenses[0])
	if err != nil || waiting.Account != nil || waiting.License.PurchaseEmail != "later@example.com" {
		t.Errorf("an unowned license: %+v %v", waiting, err)
	}
	_, err = e.svc.FindLicense(context.Background(), "00000-00000-00000-00000-00000")
	wantCode(t, err, licensing.ENOTFOUND, "unknown key")
	_, err = e.svc.FindLicense(context.Background(), "not a key")
	wantCode(t, err, licensing.EINVALID, "malformed key")
}

func testFindPurchase(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	e.company(b, "Zürich AG")
	p := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-desktop", 2)}, PurchaseEmail: "b@example.com"})
	found, err := e.svc.FindPurchase(context.Background(), strings.ToLower(p.ID))
	if err != nil {
		t.Fatal(err)
	}
	if found.PurchaseID != p.ID || found.Buyer != "a@example.com" || found.PurchaseEmail != "b@example.com" ||
		found.TotalCents != p.TotalCents || found.Currency != p.Currency || !found.CreatedAt.Equal(p.CreatedAt) || len(found.Licenses) != 2 {
		t.Fatalf("found %+v", found)
	}
	for i, l := range found.Licenses {
		// Bought for b@, which has an account: the licenses are b's.
		if l.Key != p.Licenses[i] || l.Product != "backup-desktop" || l.Account == nil || *l.Account != "b@example.com" || l.Company != nil {
			t.Errorf("license %d: %+v", i, l)
		}
	}
	if _, err := e.svc.UpdateLicense(b, p.Licenses[1], licensing.LicenseUpdate{Company: ptr("Zürich AG")}); err != nil {
		t.Fatal(err)
	}
	found, err = e.svc.FindPurchase(context.Background(), p.ID)
	if err != nil || found.Licenses[1].Company == nil || *found.Licenses[1].Company != "Zürich AG" {
		t.Errorf("after a company move: %+v %v", found, err)
	}
	_, err = e.svc.FindPurchase(context.Background(), "P-000000000000")
	wantCode(t, err, licensing.ENOTFOUND, "unknown purchase")
	_, err = e.svc.FindPurchase(context.Background(), "P-1")
	wantCode(t, err, licensing.EINVALID, "malformed purchase ID")
}

func testDisableAccount(t *testing.T, e *env) {
	a := e.account("a@example.com")
	key := e.buyOne(a, line("backup-desktop", 1), false)
	e.clock.Add(time.Hour)
	acc, err := e.svc.SetAccountDisabled(context.Background(), "A@Example.com", true)
	if err != nil || acc.Email != "a@example.com" || acc.DisabledAt == nil || !acc.DisabledAt.Equal(e.clock.Now()) {
		t.Fatalf("disable: %+v %v", acc, err)
	}
	accs, err := e.svc.ListAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range accs {
		if x.Email == "a@example.com" && (x.DisabledAt == nil || !x.DisabledAt.Equal(*acc.DisabledAt)) {
			t.Errorf("listed %+v", x)
		}
	}
	// Its data stays: the license still validates for its machines.
	if found, err := e.svc.FindLicense(context.Background(), key); err != nil || *found.Account != "a@example.com" {
		t.Errorf("the license of a disabled account: %+v %v", found, err)
	}
	_, err = e.svc.SetAccountDisabled(context.Background(), "nobody@example.com", true)
	wantCode(t, err, licensing.ENOTFOUND, "unknown account")
	if acc, err := e.svc.SetAccountDisabled(context.Background(), "a@example.com", false); err != nil || acc.DisabledAt != nil {
		t.Errorf("enable: %+v %v", acc, err)
	}
	e.license(a, key) // the account's own calls work again
}

func testSuspendByKeyAlone(t *testing.T, e *env) {
	a := e.account("a@example.com")
	key := e.buyOne(a, line("backup-desktop", 1), false)
	// The operator names only the key; the license's account is found.
	l, err := e.svc.UpdateLicense(context.Background(), key, licensing.LicenseUpdate{Suspended: ptr(true)})
	if err != nil || l.Key != key {
		t.Fatalf("suspend by key: %+v %v", l, err)
	}
	if v, err := e.svc.ValidateLicense(a, key, "", ""); err != nil || v.Code != licensing.ValidSuspended {
		t.Errorf("validation after the suspension: %+v %v", v, err)
	}
	_, err = e.svc.UpdateLicense(context.Background(), key, licensing.LicenseUpdate{AllowRM: ptr(true)})
	wantCode(t, err, licensing.EINVALID, "another change without an acting account")
	_, err = e.svc.UpdateLicense(context.Background(), "00000-00000-00000-00000-00000", licensing.LicenseUpdate{Suspended: ptr(true)})
	wantCode(t, err, licensing.ENOTFOUND, "suspending an unknown key")
	if _, err := e.svc.UpdateLicense(context.Background(), key, licensing.LicenseUpdate{Suspended: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.ValidateLicense(a, key, "", ""); err != nil || v.Code == licensing.ValidSuspended {
		t.Errorf("validation after lifting it: %+v %v", v, err)
	}
	evs := e.audit(a, licensing.AuditFilter{Action: "license.update", Object: key})
	if len(evs) != 2 {
		t.Errorf("the account's audit log has %d suspension events, want 2: %+v", len(evs), evs)
	}
}
