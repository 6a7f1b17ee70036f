// Package contract is the test suite every licensing.Services backend must
// pass: the SQLite store, the HTTP client in front of a server, later
// PostgreSQL. It speaks only through the service interfaces, so backends that
// pass it look the same to the CLI - down to error codes, orders and counts.
package contract

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Opener returns a fresh, empty backend whose catalog is seeded with
// licensing.DefaultCatalog and that tells the time by clock. It registers
// its own cleanup (Close) with t.
type Opener func(t *testing.T, clock licensing.Clock) licensing.Services

// Start is where every test's clock stands at first.
func Start() time.Time { return time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC) }

// Run runs the whole suite; each subtest opens its own backend, and they
// run in parallel.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Catalog", testCatalog},
		{"ImportProducts", testImportProducts},
		{"Accounts", testAccounts},
		{"ActingAccount", testActingAccount},
		{"PurchaseEmail", testPurchaseEmail},
		{"Companies", testCompanies},
		{"UnicodeNames", testUnicodeNames},
		{"AccountIsolation", testAccountIsolation},
		{"BuyPerpetual", testBuyPerpetual},
		{"BuySubscription", testBuySubscription},
		{"AddOns", testAddOns},
		{"BillingFixedByFirstPurchase", testBillingFixed},
		{"BillingRequiredOnFirstPurchase", testBillingRequired},
		{"Trial", testTrial},
		{"QuantityBounds", testQuantityBounds},
		{"UnknownProduct", testUnknownProduct},
		{"UnknownCompany", testUnknownCompany},
		{"Idempotency", testIdempotency},
		{"QuoteChangesNothing", testQuote},
		{"FailedBuyLeavesNothing", testFailedBuy},
		{"BuyReportsEveryBadLine", testBuyReportsEveryBadLine},
		{"ListFilters", testListFilters},
		{"ListValidityOverTime", testListValidityOverTime},
		{"ListSearch", testListSearch},
		{"ListSort", testListSort},
		{"ListLimitOffset", testListLimitOffset},
		{"ListStopsOnError", testListStopsOnError},
		{"GroupLicenses", testGroupLicenses},
		{"GetLicense", testGetLicense},
		{"UpdateLicense", testUpdateLicense},
		{"Audit", testAudit},
		{"MaintenancePricing", testMaintenancePricing},
		{"MaintenanceBuyOne", testMaintenanceBuyOne},
		{"MaintenanceStacks", testMaintenanceStacks},
		{"MaintenanceIdempotency", testMaintenanceIdempotency},
		{"MaintenanceRefusals", testMaintenanceRefusals},
		{"MaintenanceBulk", testMaintenanceBulk},
		{"MaintenanceAvailableAndAssign", testMaintenanceAssign},
		{"MaintenanceAutoRenewSwitch", testMaintenanceSet},
		{"MaintenanceFollowsLicense", testMaintenanceFollowsLicense},
		{"RenewalsEngine", testRenewals},
		{"RenewalsScope", testRenewalsScope},
		{"RenewalsFutureAndPreview", testRenewalsFutureAndPreview},
		{"AttachByPurchase", testAttachByPurchase},
		{"AttachByKeyTransfers", testAttachByKeyTransfers},
		{"AttachWrongCodes", testAttachWrongCodes},
		{"AttachExpiry", testAttachExpiry},
		{"AttachOtherAccount", testAttachOtherAccount},
		{"AttachSuperseded", testAttachSuperseded},
		{"AttachRateLimit", testAttachRateLimit},
		{"AttachRefusals", testAttachRefusals},
		{"AttachUndelivered", testAttachUndelivered},
	}
	tests = append(tests, activationTests()...)
	tests = append(tests, operatorTests()...)
	tests = append(tests, leaseTests()...)
	tests = append(tests, moneyTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each subtest has a backend and a clock of its own
			clock := NewClock(Start())
			tc.fn(t, &env{t: t, svc: open(t, clock), clock: clock})
		})
	}
}

// env is one subtest's backend and clock, with helpers that fail the test on
// unexpected errors.
type env struct {
	t     *testing.T
	svc   licensing.Services
	clock *Clock
}

func (e *env) account(email string) context.Context {
	e.t.Helper()
	if _, err := e.svc.CreateAccount(context.Background(), email); err != nil {
		e.t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return licensing.WithAccount(context.Background(), email)
}

func (e *env) company(ctx context.Context, name string) {
	e.t.Helper()
	if _, err := e.svc.CreateCompany(ctx, name); err != nil {
		e.t.Fatalf("CreateCompany(%s): %v", name, err)
	}
}

func (e *env) buy(ctx context.Context, req licensing.BuyRequest) *licensing.Purchase {
	e.t.Helper()
	p, err := e.svc.Buy(ctx, req, nil)
	if err != nil {
		e.t.Fatalf("Buy(%+v): %v", req, err)
	}
	return p
}

func (e *env) list(ctx context.Context, f licensing.LicenseFilter) []*licensing.License {
	e.t.Helper()
	var out []*licensing.License
	if err := e.svc.ListLicenses(ctx, f, func(l *licensing.License) error {
		out = append(out, l)
		return nil
	}); err != nil {
		e.t.Fatalf("ListLicenses(%+v): %v", f, err)
	}
	return out
}

func (e *env) keys(ctx context.Context, f licensing.LicenseFilter) []string {
	e.t.Helper()
	var out []string
	for _, l := range e.list(ctx, f) {
		out = append(out, l.Key)
	}
	return out
}

func (e *env) license(ctx context.Context, key string) *licensing.License {
	e.t.Helper()
	d, err := e.svc.GetLicense(ctx, key)
	if err != nil {
		e.t.Fatalf("GetLicense(%s): %v", key, err)
	}
	return &d.License
}

func (e *env) audit(ctx context.Context, f licensing.AuditFilter) []licensing.AuditEvent {
	e.t.Helper()
	evs, err := e.svc.ListAudit(ctx, f)
	if err != nil {
		e.t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	return evs
}

// state counts what a purchase writes, as seen through the services.
type state struct{ licenses, purchases, events int }

func (e *env) state(ctx context.Context) state {
	e.t.Helper()
	return state{
		licenses:  len(e.list(ctx, licensing.LicenseFilter{})),
		purchases: len(e.audit(ctx, licensing.AuditFilter{Action: "purchase.create", Limit: 100000})),
		events:    len(e.audit(ctx, licensing.AuditFilter{Limit: 100000})),
	}
}

func line(sku string, qty int) licensing.BuyLine {
	return licensing.BuyLine{Product: sku, Quantity: qty}
}

func req(lines ...licensing.BuyLine) licensing.BuyRequest { return licensing.BuyRequest{Lines: lines} }

func billed(l licensing.BuyLine, billing string) licensing.BuyLine { l.Billing = billing; return l }

func inCompany(l licensing.BuyLine, company string) licensing.BuyLine { l.Company = company; return l }

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := licensing.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func ptr[T any](v T) *T { return &v }

func testCatalog(t *testing.T, e *env) {
	ctx := context.Background()
	ps, err := e.svc.ListProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var skus []string
	for _, p := range ps {
		skus = append(skus, p.SKU)
	}
	for _, p := range licensing.DefaultCatalog() {
		if !slices.Contains(skus, p.SKU) {
			t.Errorf("catalog lacks %s: %v", p.SKU, skus)
		}
	}
	rank := map[string]int{licensing.TermPerpetual: 0, licensing.TermSubscription: 1, licensing.TermAddon: 2}
	if !slices.IsSortedFunc(ps, func(a, b licensing.Product) int {
		if c := rank[a.Term] - rank[b.Term]; c != 0 {
			return c
		}
		return strings.Compare(a.SKU, b.SKU)
	}) {
		t.Errorf("catalog not ordered perpetual, subscription, addon, then sku: %v", skus)
	}

	p, err := e.svc.FindProduct(ctx, "backup-ultimate")
	if err != nil {
		t.Fatal(err)
	}
	// The vendor's rule: 20% of the price, rounded to whole units ($299 -> $60).
	if p.PriceCents != 29900 || p.MaintenancePriceCents != 6000 || p.Term != licensing.TermPerpetual {
		t.Errorf("backup-ultimate = %+v, want price 29900 and maintenance 6000", p)
	}
	vm, err := e.svc.FindProduct(ctx, "mbs-vm")
	if err != nil {
		t.Fatal(err)
	}
	if vm.Seats != 2 || vm.MonthlyPriceCents != 1999 || vm.AnnualPriceCents != 19999 ||
		!slices.Equal(vm.Platforms, []string{licensing.OSWindows}) || vm.LatestVersion == "" || vm.Currency != "USD" {
		t.Errorf("mbs-vm = %+v", vm)
	}
	_, err = e.svc.FindProduct(ctx, "no-such-product")
	wantCode(t, err, licensing.ENOTFOUND, "FindProduct(unknown)")
}

func testImportProducts(t *testing.T, e *env) {
	ctx := context.Background()
	a := e.account("a@example.com")
	old := e.buy(a, req(line("backup-desktop", 1)))

	n, err := e.svc.ImportProducts(ctx, []licensing.Product{
		{SKU: "backup-nas", Name: "Backup NAS", Term: licensing.TermPerpetual, PriceCents: 19900, Platforms: []string{licensing.OSLinux}, LatestVersion: "5.1"},
		{SKU: "backup-desktop", Name: "Backup Desktop 8", Term: licensing.TermPerpetual, PriceCents: 5999, Platforms: []string{licensing.OSWindows}, LatestVersion: "8.0"},
	})
	if err != nil || n != 2 {
		t.Fatalf("ImportProducts = %d, %v", n, err)
	}
	nas, err := e.svc.FindProduct(ctx, "backup-nas")
	if err != nil {
		t.Fatal(err)
	}
	if nas.MaintenancePriceCents != 4000 || nas.Seats != 1 || nas.Currency != "USD" {
		t.Errorf("imported product defaults: %+v", nas)
	}
	desk, err := e.svc.FindProduct(ctx, "backup-desktop")
	if err != nil || desk.PriceCents != 5999 || desk.MaintenancePriceCents != 1200 {
		t.Fatalf("replaced product: %+v, %v", desk, err)
	}
	// Licenses keep pointing at a replaced product.
	if l := e.license(a, old.Licenses[0]); l.ProductName != "Backup Desktop 8" {
		t.Errorf("license of a replaced product shows %q", l.ProductName)
	}

	// All or nothing: one bad entry keeps the good one out too.
	_, err = e.svc.ImportProducts(ctx, []licensing.Product{
		{SKU: "backup-good", Name: "Good", Term: licensing.TermPerpetual, PriceCents: 100},
		{SKU: "backup-bad", Name: "Bad", Term: "forever", PriceCents: 100},
	})
	wantCode(t, err, licensing.EINVALID, "import with an invalid term")
	_, err = e.svc.FindProduct(ctx, "backup-good")
	wantCode(t, err, licensing.ENOTFOUND, "product of a failed import")
	_, err = e.svc.ImportProducts(ctx, []licensing.Product{{SKU: "mbs-x", Name: "X", Term: licensing.TermSubscription, MonthlyPriceCents: 100}})
	wantCode(t, err, licensing.EINVALID, "subscription without annual price")
}

func testAccounts(t *testing.T, e *env) {
	ctx := context.Background()
	a, err := e.svc.CreateAccount(ctx, " Alice@Example.com ")
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "alice@example.com" || !a.CreatedAt.Equal(Start()) || a.Attached != 0 {
		t.Errorf("CreateAccount = %+v", a)
	}
	_, err = e.svc.CreateAccount(ctx, "ALICE@example.com")
	wantCode(t, err, licensing.ECONFLICT, "duplicate account (other case)")
	for _, bad := range []string{"", "nobody", "Bob <bob@example.com>", "a@b@c"} {
		_, err = e.svc.CreateAccount(ctx, bad)
		wantCode(t, err, licensing.EINVALID, fmt.Sprintf("CreateAccount(%q)", bad))
	}
	if _, err := e.svc.CreateAccount(ctx, "aaron@example.com"); err != nil {
		t.Fatal(err)
	}
	all, err := e.svc.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, a := range all {
		emails = append(emails, a.Email)
	}
	if !slices.Equal(emails, []string{"aaron@example.com", "alice@example.com"}) {
		t.Errorf("ListAccounts = %v", emails)
	}
}

func testActingAccount(t *testing.T, e *env) {
	ghost := licensing.WithAccount(context.Background(), "ghost@example.com")
	_, err := e.svc.ListCompanies(ghost)
	wantCode(t, err, licensing.EUNAUTHORIZED, "unknown acting account")
	_, err = e.svc.Buy(ghost, req(line("backup-desktop", 1)), nil)
	wantCode(t, err, licensing.EUNAUTHORIZED, "buy as an unknown account")
	err = e.svc.ListLicenses(context.Background(), licensing.LicenseFilter{}, func(*licensing.License) error { return nil })
	wantCode(t, err, licensing.EUNAUTHORIZED, "no acting account")
	_, err = e.svc.ListAudit(context.Background(), licensing.AuditFilter{})
	wantCode(t, err, licensing.EUNAUTHORIZED, "audit without an acting account")
}

func testPurchaseEmail(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	e.company(a, "Acme")

	gift := req(line("backup-desktop", 2))
	gift.PurchaseEmail = "Later@Example.com"
	p := e.buy(a, gift)
	if p.PurchaseEmail != "later@example.com" || p.Account != "a@example.com" || len(p.Licenses) != 2 {
		t.Fatalf("purchase for another email = %+v", p)
	}
	if n := len(e.list(a, licensing.LicenseFilter{})); n != 0 {
		t.Errorf("buyer sees %d licenses bought for another email", n)
	}
	acc, err := e.svc.CreateAccount(context.Background(), "later@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Attached != 2 {
		t.Errorf("CreateAccount attached %d licenses, want 2", acc.Attached)
	}
	later := licensing.WithAccount(context.Background(), "later@example.com")
	if got := e.keys(later, licensing.LicenseFilter{}); !slices.Equal(got, p.Licenses) {
		t.Errorf("new account's licenses = %v, want %v", got, p.Licenses)
	}
	if l := e.license(later, p.Licenses[0]); l.PurchaseEmail != "later@example.com" || l.PurchaseID != p.ID {
		t.Errorf("attached license = %+v", l)
	}

	// For an existing account the licenses are its own at once.
	forB := req(line("backup-server", 1))
	forB.PurchaseEmail = "b@example.com"
	pb := e.buy(a, forB)
	if got := e.keys(b, licensing.LicenseFilter{}); !slices.Equal(got, pb.Licenses) {
		t.Errorf("b's licenses = %v, want %v", got, pb.Licenses)
	}

	// Companies are the buyer's: they cannot hold licenses that go elsewhere.
	withCompany := req(inCompany(line("backup-desktop", 1), "Acme"))
	withCompany.PurchaseEmail = "c@example.com"
	_, err = e.svc.Buy(a, withCompany, nil)
	wantCode(t, err, licensing.EINVALID, "--company with another purchase email")
	bad := req(line("backup-desktop", 1))
	bad.PurchaseEmail = "not an email"
	_, err = e.svc.Buy(a, bad, nil)
	wantCode(t, err, licensing.EINVALID, "invalid purchase email")
}

func testCompanies(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	c, err := e.svc.CreateCompany(a, "  Acme  ")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Acme" || !c.CreatedAt.Equal(Start()) {
		t.Errorf("CreateCompany = %+v", c)
	}
	_, err = e.svc.CreateCompany(a, "ACME")
	wantCode(t, err, licensing.ECONFLICT, "duplicate company (other case)")
	_, err = e.svc.CreateCompany(a, "  ")
	wantCode(t, err, licensing.EINVALID, "empty company name")
	_, err = e.svc.CreateCompany(a, strings.Repeat("x", 101))
	wantCode(t, err, licensing.EINVALID, "long company name")
	e.company(a, "Beta")
	e.buy(a, req(inCompany(line("backup-desktop", 2), "acme")))

	got, err := e.svc.ListCompanies(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "Acme" || got[0].Licenses != 2 || got[1].Name != "Beta" || got[1].Licenses != 0 {
		t.Errorf("ListCompanies = %+v", got)
	}

	// Companies are per account: b neither sees nor uses a's, and may have its own.
	if got, err := e.svc.ListCompanies(b); err != nil || len(got) != 0 {
		t.Errorf("b's companies = %+v, %v", got, err)
	}
	_, err = e.svc.Buy(b, req(inCompany(line("backup-desktop", 1), "Acme")), nil)
	wantCode(t, err, licensing.ENOTFOUND, "buy into another account's company")
	err = e.svc.ListLicenses(b, licensing.LicenseFilter{Company: "Acme"}, func(*licensing.License) error { return nil })
	wantCode(t, err, licensing.ENOTFOUND, "filter by another account's company")
	e.company(b, "Acme")
}

func testAccountIsolation(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	e.company(a, "Acme")
	p := e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingAnnual)))
	key := p.Licenses[0]

	if n := len(e.list(b, licensing.LicenseFilter{})); n != 0 {
		t.Errorf("b lists %d of a's licenses", n)
	}
	unknown, err := licensekey.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, errUnknown := e.svc.GetLicense(b, unknown)
	wantCode(t, errUnknown, licensing.ENOTFOUND, "unknown key")
	_, errOther := e.svc.GetLicense(b, key)
	wantCode(t, errOther, licensing.ENOTFOUND, "another account's key")
	// Not even the wording may tell "exists elsewhere" from "does not exist".
	if strings.ReplaceAll(licensing.ErrorMessage(errOther), key, "KEY") != strings.ReplaceAll(licensing.ErrorMessage(errUnknown), unknown, "KEY") {
		t.Errorf("messages differ: %q vs %q", licensing.ErrorMessage(errOther), licensing.ErrorMessage(errUnknown))
	}
	_, err = e.svc.UpdateLicense(b, key, licensing.LicenseUpdate{AllowRM: ptr(true)})
	wantCode(t, err, licensing.ENOTFOUND, "update another account's license")
	if l := e.license(a, key); l.AllowRM {
		t.Error("b changed a's license")
	}
	for _, ev := range e.audit(b, licensing.AuditFilter{}) {
		if ev.Action != "account.create" {
			t.Errorf("b sees audit event %+v", ev)
		}
	}
}
