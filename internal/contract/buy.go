package contract

import (
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
)

func testBuyPerpetual(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-ultimate", 2)))
	if p.ID == "" || p.Replayed || p.DryRun || p.Account != "a@example.com" || p.PurchaseEmail != "a@example.com" ||
		p.IdempotencyKey == "" || p.TotalCents != 59800 || p.Currency != "USD" || p.Billing != "one_time" ||
		p.Trial || !p.CreatedAt.Equal(Start()) || len(p.Licenses) != 2 {
		t.Fatalf("purchase = %+v", p)
	}
	if len(p.Items) != 1 || p.Items[0] != (licensing.LineItem{SKU: "backup-ultimate", Description: "Backup Ultimate",
		Quantity: 2, UnitPriceCents: 29900, AmountCents: 59800}) {
		t.Errorf("items = %+v", p.Items)
	}
	ls := e.list(a, licensing.LicenseFilter{})
	if len(ls) != 2 {
		t.Fatalf("listed %d licenses", len(ls))
	}
	for i, l := range ls {
		if k, err := licensekey.Parse(l.Key); err != nil || k != l.Key || l.Key != p.Licenses[i] {
			t.Errorf("license %d key %q (purchase says %q): %v", i, l.Key, p.Licenses[i], err)
		}
		want := licensing.License{Key: l.Key, Product: "backup-ultimate", ProductName: "Backup Ultimate",
			Kind: licensing.KindCommercial, Term: licensing.LicenseTermPerpetual, Status: licensing.StatusNotActivated,
			Validity: licensing.ValidityValid, Usage: licensing.UsageUnused, PurchaseID: p.ID, PurchaseEmail: "a@example.com",
			Maintenance: licensing.MaintenanceNone, Seats: 1, CreatedAt: Start()}
		if l.Company != nil || l.ExpiresAt != nil || l.MaintenanceTill != nil {
			t.Errorf("license %d: company %v expires %v maintenance %v, want none", i, l.Company, l.ExpiresAt, l.MaintenanceTill)
		}
		got := *l
		got.Company, got.ExpiresAt, got.MaintenanceTill = nil, nil, nil
		if got != want {
			t.Errorf("license %d =\n %+v\nwant\n %+v", i, got, want)
		}
	}
}

func testBuySubscription(t *testing.T, e *env) {
	a := e.account("a@example.com")
	annual := e.buy(a, req(billed(line("mbs-server", 3), licensing.BillingAnnual)))
	if annual.TotalCents != 3*9999 || annual.Billing != licensing.BillingAnnual || annual.Items[0].Billing != licensing.BillingAnnual {
		t.Errorf("annual purchase = %+v", annual)
	}
	e.clock.Add(time.Hour)
	monthly := e.buy(a, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly)))
	if monthly.TotalCents != 299 || monthly.Billing != licensing.BillingMonthly {
		t.Errorf("monthly purchase = %+v", monthly)
	}
	vm := e.buy(a, req(billed(line("mbs-vm", 1), licensing.BillingMonthly)))

	for _, c := range []struct {
		key     string
		term    string
		expires time.Time
		seats   int
	}{
		{annual.Licenses[2], licensing.LicenseTermAnnual, Start().AddDate(1, 0, 0), 1},
		{monthly.Licenses[0], licensing.LicenseTermMonthly, Start().Add(time.Hour).AddDate(0, 1, 0), 1},
		{vm.Licenses[0], licensing.LicenseTermMonthly, Start().Add(time.Hour).AddDate(0, 1, 0), 2},
	} {
		l := e.license(a, c.key)
		if l.Kind != licensing.KindCommercial || l.Term != c.term || l.ExpiresAt == nil || !l.ExpiresAt.Equal(c.expires) ||
			!l.AutoRenew || l.Seats != c.seats || l.Validity != licensing.ValidityValid {
			t.Errorf("subscription license = %+v (expires %v), want term %s expiring %v with auto-renew", l, l.ExpiresAt, c.term, c.expires)
		}
	}
}

func testAddOns(t *testing.T, e *env) {
	a := e.account("a@example.com")
	l := billed(line("mbs-server", 3), licensing.BillingMonthly)
	l.PremiumSupport, l.Onboarding = true, true
	p := e.buy(a, req(l))
	// Premium Support is charged per license, Onboarding once.
	want := []licensing.LineItem{
		{SKU: "mbs-server", Description: "Managed Backup Server", Quantity: 3, UnitPriceCents: 999, AmountCents: 2997, Billing: licensing.BillingMonthly},
		{SKU: licensing.SKUPremiumSupport, Description: "Premium Support for Managed Backup Server", Quantity: 3, UnitPriceCents: 999, AmountCents: 2997},
		{SKU: licensing.SKUOnboarding, Description: "Onboarding for Managed Backup Server", Quantity: 1, UnitPriceCents: 19900, AmountCents: 19900},
	}
	if len(p.Items) != len(want) {
		t.Fatalf("items = %+v", p.Items)
	}
	for i := range want {
		if p.Items[i] != want[i] {
			t.Errorf("item %d = %+v, want %+v", i, p.Items[i], want[i])
		}
	}
	if p.TotalCents != 2997+2997+19900 || len(p.Licenses) != 3 {
		t.Errorf("total %d, %d licenses", p.TotalCents, len(p.Licenses))
	}
	// Add-ons are not licenses.
	if n := len(e.list(a, licensing.LicenseFilter{})); n != 3 {
		t.Errorf("%d licenses listed, want 3", n)
	}
}

func testBillingFixed(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.buy(a, req(billed(line("mbs-desktop", 1), licensing.BillingAnnual)))
	_, err := e.svc.Buy(a, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly)), nil)
	wantCode(t, err, licensing.ECONFLICT, "other payment mode than the first purchase")
	_, err = e.svc.Quote(a, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly)))
	wantCode(t, err, licensing.ECONFLICT, "quote with the other payment mode")
	p := e.buy(a, req(line("mbs-desktop", 2)))
	if p.Billing != licensing.BillingAnnual || p.TotalCents != 2*2999 {
		t.Errorf("later purchase without --billing = %+v, want annual", p)
	}
	// Within one purchase the first line fixes the mode for the next.
	p = e.buy(a, req(billed(line("mbs-exchange", 1), licensing.BillingMonthly), line("mbs-exchange", 1)))
	if p.Items[1].Billing != licensing.BillingMonthly {
		t.Errorf("second line billing = %q", p.Items[1].Billing)
	}
	_, err = e.svc.Buy(a, req(billed(line("mbs-mssql", 1), licensing.BillingMonthly), billed(line("mbs-mssql", 1), licensing.BillingAnnual)), nil)
	wantCode(t, err, licensing.ECONFLICT, "two modes in one purchase")
	// The mode is per account.
	b := e.account("b@example.com")
	e.buy(b, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly)))
}

func testBillingRequired(t *testing.T, e *env) {
	a := e.account("a@example.com")
	_, err := e.svc.Buy(a, req(line("mbs-vm", 1)), nil)
	wantCode(t, err, licensing.EINVALID, "first subscription purchase without --billing")
	_, err = e.svc.Buy(a, req(billed(line("backup-desktop", 1), licensing.BillingAnnual)), nil)
	wantCode(t, err, licensing.EINVALID, "--billing on a lifetime product")
	_, err = e.svc.Buy(a, req(billed(line("mbs-vm", 1), "weekly")), nil)
	wantCode(t, err, licensing.EINVALID, "unknown payment mode")
}

func testTrial(t *testing.T, e *env) {
	a := e.account("a@example.com")
	trial := req(line("mbs-server", 1))
	trial.Trial = true
	p := e.buy(a, trial)
	if !p.Trial || p.TotalCents != 0 || len(p.Licenses) != 1 || p.Items[0].UnitPriceCents != 0 {
		t.Fatalf("trial purchase = %+v", p)
	}
	l := e.license(a, p.Licenses[0])
	if l.Kind != licensing.KindTrial || l.Term != licensing.LicenseTermMonthly || l.AutoRenew ||
		l.ExpiresAt == nil || !l.ExpiresAt.Equal(Start().AddDate(0, 0, licensing.TrialDays)) {
		t.Errorf("trial license = %+v (expires %v)", l, l.ExpiresAt)
	}
	_, err := e.svc.Buy(a, trial, nil)
	wantCode(t, err, licensing.ECONFLICT, "second trial of a type")
	_, err = e.svc.Quote(a, trial)
	wantCode(t, err, licensing.ECONFLICT, "quote of a second trial")

	// Another type has its own trial; a lifetime trial expires too.
	perp := req(line("backup-desktop", 1))
	perp.Trial = true
	pl := e.license(a, e.buy(a, perp).Licenses[0])
	if pl.Kind != licensing.KindTrial || pl.Term != licensing.LicenseTermPerpetual || pl.ExpiresAt == nil ||
		!pl.ExpiresAt.Equal(Start().AddDate(0, 0, licensing.TrialDays)) {
		t.Errorf("lifetime trial license = %+v (expires %v)", pl, pl.ExpiresAt)
	}

	// A trial fixes no payment mode.
	_, err = e.svc.Buy(a, req(line("mbs-server", 1)), nil)
	wantCode(t, err, licensing.EINVALID, "first commercial purchase after a trial without --billing")

	withBilling := req(billed(line("mbs-vm", 1), licensing.BillingMonthly))
	withBilling.Trial = true
	_, err = e.svc.Buy(a, withBilling, nil)
	wantCode(t, err, licensing.EINVALID, "trial with --billing")
	withAddon := req(line("mbs-vm", 1))
	withAddon.Trial, withAddon.Lines[0].Onboarding = true, true
	_, err = e.svc.Buy(a, withAddon, nil)
	wantCode(t, err, licensing.EINVALID, "trial with an add-on")
}

func testQuantityBounds(t *testing.T, e *env) {
	a := e.account("a@example.com")
	for _, q := range []int{0, -1, licensing.MaxQuantity + 1} {
		_, err := e.svc.Buy(a, req(line("backup-desktop", q)), nil)
		wantCode(t, err, licensing.EINVALID, "quantity")
	}
	_, err := e.svc.Buy(a, req(line("backup-desktop", licensing.MaxQuantity), line("backup-server", 1)), nil)
	wantCode(t, err, licensing.EINVALID, "total quantity over the maximum")
	_, err = e.svc.Buy(a, licensing.BuyRequest{}, nil)
	wantCode(t, err, licensing.EINVALID, "empty purchase")
}

func testUnknownProduct(t *testing.T, e *env) {
	a := e.account("a@example.com")
	_, err := e.svc.Buy(a, req(line("backup-teapot", 1)), nil)
	wantCode(t, err, licensing.ENOTFOUND, "unknown product")
	_, err = e.svc.Buy(a, req(line(licensing.SKUPremiumSupport, 1)), nil)
	wantCode(t, err, licensing.EINVALID, "an add-on as a license type")
	// SKUs are matched whatever the case.
	e.buy(a, req(line(" Backup-Desktop ", 1)))
}

func testUnknownCompany(t *testing.T, e *env) {
	a := e.account("a@example.com")
	_, err := e.svc.Buy(a, req(inCompany(line("backup-desktop", 1), "Nowhere Inc")), nil)
	wantCode(t, err, licensing.ENOTFOUND, "unknown company")
	_, err = e.svc.Quote(a, req(inCompany(line("backup-desktop", 1), "Nowhere Inc")))
	wantCode(t, err, licensing.ENOTFOUND, "quote for an unknown company")
}

func testIdempotency(t *testing.T, e *env) {
	a := e.account("a@example.com")
	r := req(billed(line("mbs-server", 2), licensing.BillingAnnual))
	r.IdempotencyKey = "order-1"
	first := e.buy(a, r)
	if first.IdempotencyKey != "order-1" || first.Replayed {
		t.Fatalf("first purchase = %+v", first)
	}
	e.clock.Add(time.Minute)
	again := e.buy(a, r)
	if !again.Replayed || again.ID != first.ID || again.TotalCents != first.TotalCents ||
		strings.Join(again.Licenses, ",") != strings.Join(first.Licenses, ",") || !again.CreatedAt.Equal(first.CreatedAt) ||
		len(again.Items) != len(first.Items) || again.Items[0] != first.Items[0] || again.Billing != first.Billing {
		t.Fatalf("replay =\n %+v\nwant the first purchase\n %+v", again, first)
	}
	if n := len(e.list(a, licensing.LicenseFilter{})); n != 2 {
		t.Errorf("%d licenses after a replay, want 2", n)
	}
	// The same request written differently is the same request.
	same := req(line(" MBS-Server ", 2))
	same.Lines[0].Billing = "ANNUAL"
	same.IdempotencyKey = "order-1"
	if p := e.buy(a, same); !p.Replayed || p.ID != first.ID {
		t.Errorf("normalised replay = %+v", p)
	}

	other := req(billed(line("mbs-server", 3), licensing.BillingAnnual))
	other.IdempotencyKey = "order-1"
	_, err := e.svc.Buy(a, other, nil)
	wantCode(t, err, licensing.ECONFLICT, "key reused with other parameters")
	if !strings.Contains(licensing.ErrorMessage(err), first.ID) {
		t.Errorf("conflict message %q does not name %s", licensing.ErrorMessage(err), first.ID)
	}

	// A replayed trial answers the trial, not "already requested".
	trial := req(line("mbs-vm", 1))
	trial.Trial, trial.IdempotencyKey = true, "trial-1"
	tp := e.buy(a, trial)
	if p := e.buy(a, trial); !p.Replayed || p.ID != tp.ID {
		t.Errorf("trial replay = %+v", p)
	}

	// Keys are per account.
	b := e.account("b@example.com")
	if p := e.buy(b, r); p.Replayed || p.ID == first.ID {
		t.Errorf("another account's purchase with the same key = %+v", p)
	}
	// Without a key every call buys.
	x := e.buy(a, req(line("backup-desktop", 1)))
	y := e.buy(a, req(line("backup-desktop", 1)))
	if x.ID == y.ID || x.IdempotencyKey == "" || x.IdempotencyKey == y.IdempotencyKey {
		t.Errorf("purchases without a key: %+v and %+v", x, y)
	}
}

func testQuote(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	before := e.state(a)
	l := inCompany(billed(line("mbs-server", 2), licensing.BillingAnnual), "Acme")
	l.PremiumSupport = true
	q, err := e.svc.Quote(a, req(l))
	if err != nil {
		t.Fatal(err)
	}
	if !q.DryRun || q.ID != "" || len(q.Licenses) != 0 || q.TotalCents != 2*9999+2*999 || len(q.Items) != 2 ||
		q.Billing != licensing.BillingAnnual || q.Account != "a@example.com" || q.Currency != "USD" {
		t.Errorf("quote = %+v", q)
	}
	trial := req(line("mbs-vm", 1))
	trial.Trial = true
	if _, err := e.svc.Quote(a, trial); err != nil {
		t.Fatal(err)
	}
	if after := e.state(a); after != before {
		t.Errorf("quote changed the store: %+v -> %+v", before, after)
	}
	// Neither the payment mode nor the trial was used up.
	e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingMonthly)))
	e.buy(a, trial)
	_, err = e.svc.Quote(a, req(line("backup-teapot", 1)))
	wantCode(t, err, licensing.ENOTFOUND, "quote of an unknown product")
}

func testFailedBuy(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	e.buy(a, req(line("backup-desktop", 1)))
	before := e.state(a)

	_, err := e.svc.Buy(a, req(billed(line("mbs-vm", 2), licensing.BillingAnnual), inCompany(line("backup-desktop", 1), "Nope")), nil)
	wantCode(t, err, licensing.ENOTFOUND, "second line's company unknown")
	_, err = e.svc.Buy(a, req(billed(line("mbs-vm", 2), licensing.BillingAnnual), line("backup-teapot", 1)), nil)
	wantCode(t, err, licensing.ENOTFOUND, "second line's product unknown")
	trial := req(line("mbs-server", 1), line("mbs-server", 1))
	trial.Trial = true
	_, err = e.svc.Buy(a, trial, nil)
	wantCode(t, err, licensing.ECONFLICT, "two trials of a type in one request")

	if after := e.state(a); after != before {
		t.Errorf("failed purchases left something: %+v -> %+v", before, after)
	}
	// Nor did they fix a payment mode or use a trial.
	e.buy(a, req(billed(line("mbs-vm", 1), licensing.BillingMonthly)))
	trial.Lines = trial.Lines[:1]
	e.buy(a, trial)
}

// A purchase of many lines (a purchase file) answers every bad line at
// once, in order, each with its field, code and message; one bad line and
// nothing is bought. A payment mode that conflicts with an earlier line of
// the same purchase says so (no purchase fixed it yet).
func testBuyReportsEveryBadLine(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingMonthly)))
	before := e.state(a)
	r := req(
		line("backup-desktop", 1),
		line("backup-nothing", 1),
		billed(line("mbs-server", 1), licensing.BillingAnnual),
		inCompany(line("backup-desktop", 1), "Nowhere"),
		line("mbs-vm", 1),
		billed(line("mbs-exchange", 1), licensing.BillingMonthly),
		billed(line("mbs-exchange", 2), licensing.BillingAnnual),
		billed(line("backup-server", 1), licensing.BillingAnnual),
		line("premium-support", 1),
		inCompany(line("backup-server", 1), "ACME"),
	)
	want := []licensing.LineError{
		{Line: 1, Field: "product", Code: licensing.ENOTFOUND, Message: "unknown product backup-nothing"},
		{Line: 2, Field: "billing", Code: licensing.ECONFLICT, Message: "the payment mode for mbs-server is monthly: it was fixed by your first purchase of this type"},
		{Line: 3, Field: "company", Code: licensing.ENOTFOUND, Message: `no company "Nowhere"`},
		{Line: 4, Field: "billing", Code: licensing.EINVALID, Message: "first purchase of mbs-vm: choose the payment mode, monthly or annual"},
		{Line: 6, Field: "billing", Code: licensing.ECONFLICT, Message: "annual conflicts with monthly on line 6 of this purchase for mbs-exchange"},
		{Line: 7, Field: "billing", Code: licensing.EINVALID, Message: "backup-server is a lifetime license: it has no payment mode"},
		{Line: 8, Field: "product", Code: licensing.EINVALID, Message: "premium-support is an add-on, not a license type"},
	}
	for name, call := range map[string]func() error{
		"quote": func() error { _, err := e.svc.Quote(a, r); return err },
		"buy":   func() error { _, err := e.svc.Buy(a, r, nil); return err },
	} {
		err := call()
		wantCode(t, err, licensing.EINVALID, name+" with bad lines")
		got := licensing.ErrorLines(err)
		if len(got) != len(want) {
			t.Fatalf("%s: %d bad lines, want %d: %+v", name, len(got), len(want), got)
		}
		for i := range want {
			if g := got[i]; g.Line != want[i].Line || g.Field != want[i].Field || g.Code != want[i].Code || g.Message != want[i].Message {
				t.Errorf("%s: bad line %d = %+v\nwant %+v", name, i, g, want[i])
			}
		}
	}
	if now := e.state(a); now != before {
		t.Errorf("a purchase with bad lines changed %+v to %+v", before, now)
	}
	// Normalize's checks (before any look-up) report every line too.
	_, err := e.svc.Quote(a, req(line("backup-desktop", 0), billed(line("mbs-vm", 1), "weekly"), line("backup-desktop", 1)))
	if got := licensing.ErrorLines(err); len(got) != 2 || got[0].Field != "quantity" || got[1].Field != "billing" || got[1].Line != 1 {
		t.Errorf("malformed lines = %+v (%v)", got, err)
	}
	// One bad line keeps its own code; the company a line names is shown as stored.
	_, err = e.svc.Buy(a, req(line("backup-nothing", 1)), nil)
	wantCode(t, err, licensing.ENOTFOUND, "one unknown product")
	if got := licensing.ErrorLines(err); len(got) != 1 || got[0].Field != "product" {
		t.Errorf("one bad line = %+v", got)
	}
	if p := e.buy(a, req(inCompany(line("backup-server", 1), "ACME"))); p.Items[0].Company != "Acme" {
		t.Errorf("item company = %q, want the company's name as stored", p.Items[0].Company)
	}
}
