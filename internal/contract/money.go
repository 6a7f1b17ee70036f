package contract

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// moneyTests are purchases as records, refunds and cancellations, on every
// backend.
func moneyTests() []struct {
	name string
	fn   func(*testing.T, *env)
} {
	return []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"PurchasesListAndShow", testPurchasesListAndShow},
		{"RefundWhole", testRefundWhole},
		{"RefundPartial", testRefundPartial},
		{"RefundRefusals", testRefundRefusals},
		{"RefundPlansFollowLicenses", testRefundPlansFollow},
		{"RefundBulk", testRefundBulk},
		{"CancelSubscription", testCancelSubscription},
		{"CancelMaintenance", testCancelMaintenance},
		{"MoneyInvariants", testMoneyInvariants},
		{"Events", testEvents},
		{"EventsLicenseCreatedInBulk", testLicenseCreatedInBulk},
		{"EventsAttach", testAttachEvents},
		{"EventsScheduled", testScheduledEvents},
		{"EventsScheduledCatchUp", testScheduledCatchUp},
		{"Notifications", testNotifications},
	}
}

func (e *env) refund(ctx context.Context, r licensing.RefundRequest) *licensing.Purchase {
	e.t.Helper()
	p, err := e.svc.RefundPurchase(ctx, r)
	if err != nil {
		e.t.Fatalf("RefundPurchase(%+v): %v", r, err)
	}
	return p
}

func (e *env) purchase(ctx context.Context, id string) *licensing.PurchaseDetail {
	e.t.Helper()
	p, err := e.svc.GetPurchase(ctx, id)
	if err != nil {
		e.t.Fatalf("GetPurchase(%s): %v", id, err)
	}
	return p
}

func (e *env) purchases(ctx context.Context, f licensing.PurchaseFilter) []licensing.PurchaseRow {
	e.t.Helper()
	rows, err := e.svc.ListPurchases(ctx, f)
	if err != nil {
		e.t.Fatalf("ListPurchases(%+v): %v", f, err)
	}
	return rows
}

func withAddOns(l licensing.BuyLine) licensing.BuyLine {
	l.PremiumSupport, l.Onboarding = true, true
	return l
}

func testPurchasesListAndShow(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	first := e.buy(a, req(line("backup-server", 2)))
	e.clock.Add(time.Hour)
	second := e.buy(a, req(inCompany(billed(line("mbs-desktop", 1), licensing.BillingMonthly), "Acme")))
	if first.Kind != licensing.PurchaseKindPurchase || first.PaymentStatus != licensing.PaymentPaid || first.RefundedCents != 0 || first.ReceiptURL != nil {
		t.Fatalf("a new purchase: %+v", first)
	}
	rows := e.purchases(a, licensing.PurchaseFilter{})
	if len(rows) != 2 || rows[0].ID != second.ID || rows[1].ID != first.ID || rows[1].LicenseCount != 2 || rows[1].TotalCents != 23998 ||
		len(rows[1].Items) != 1 || rows[1].Items[0].Quantity != 2 || rows[0].Kind != licensing.PurchaseKindPurchase {
		t.Fatalf("ListPurchases = %+v", rows)
	}
	if got := e.purchases(a, licensing.PurchaseFilter{Company: "acme"}); len(got) != 1 || got[0].ID != second.ID {
		t.Errorf("--company Acme = %+v", got)
	}
	since := e.clock.Now().Add(-time.Minute)
	if got := e.purchases(a, licensing.PurchaseFilter{Since: &since}); len(got) != 1 || got[0].ID != second.ID {
		t.Errorf("--since = %+v", got)
	}
	if got := e.purchases(a, licensing.PurchaseFilter{Kind: "refund"}); len(got) != 0 {
		t.Errorf("--kind refund = %+v", got)
	}
	if got := e.purchases(a, licensing.PurchaseFilter{Limit: 1}); len(got) != 1 || got[0].ID != second.ID {
		t.Errorf("--limit 1 = %+v", got)
	}
	_, err := e.svc.ListPurchases(a, licensing.PurchaseFilter{Kind: "gift"})
	wantCode(t, err, licensing.EINVALID, "an unknown kind")
	_, err = e.svc.ListPurchases(a, licensing.PurchaseFilter{Company: "Nobody"})
	wantCode(t, err, licensing.ENOTFOUND, "an unknown company")

	d := e.purchase(a, first.ID)
	if d.ID != first.ID || len(d.Licenses) != 2 || d.Licenses[0] != first.Licenses[0] || d.TotalCents != 23998 || d.Account != "a@example.com" ||
		len(d.Refunds) != 0 || len(d.Plans) != 0 || d.Seller == "" || d.Kind != licensing.PurchaseKindPurchase {
		t.Fatalf("GetPurchase = %+v", d)
	}
	// A maintenance purchase names its plans.
	m := e.buyMaintenance(a, forKey(first.Licenses[0]))
	if d := e.purchase(a, m.ID); len(d.Plans) != 1 || d.Plans[0] != m.Plans[0].ID || len(d.Licenses) != 0 {
		t.Errorf("GetPurchase(maintenance) = %+v", d)
	}
	// Another account sees none of it.
	b := e.account("b@example.com")
	_, err = e.svc.GetPurchase(b, first.ID)
	wantCode(t, err, licensing.ENOTFOUND, "another account's purchase")
	if got := e.purchases(b, licensing.PurchaseFilter{}); len(got) != 0 {
		t.Errorf("b's purchases = %+v", got)
	}
	_, err = e.svc.GetPurchase(a, "P-NOPE")
	wantCode(t, err, licensing.EINVALID, "a malformed purchase ID")
}

func testRefundWhole(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(withAddOns(line("backup-server", 3))))
	keep := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	if p.TotalCents != 3*11999+3*999+19900 {
		t.Fatalf("bought %+v", p)
	}
	before := len(e.audit(a, licensing.AuditFilter{Limit: 1000}))

	// A dry run changes nothing.
	q := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, DryRun: true})
	if !q.DryRun || q.ID != "" || q.TotalCents != -p.TotalCents || len(q.Licenses) != 3 {
		t.Fatalf("dry run %+v", q)
	}
	if got := e.keys(a, licensing.LicenseFilter{}); len(got) != 4 {
		t.Fatalf("after a dry run: %d licenses", len(got))
	}

	r := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Reason: "bought by mistake"})
	if r.ID == "" || r.Kind != licensing.PurchaseKindRefund || r.TotalCents != -p.TotalCents || deref(r.RefundOf) != p.ID ||
		len(r.Licenses) != 3 || r.Reason != "bought by mistake" || r.Replayed || r.Currency != "USD" {
		t.Fatalf("refund %+v", r)
	}
	var sum int64
	for _, it := range r.Items {
		if it.AmountCents >= 0 || it.UnitPriceCents >= 0 {
			t.Errorf("refund item %+v is not negative", it)
		}
		sum += it.AmountCents
	}
	if sum != r.TotalCents {
		t.Errorf("items sum to %d, total %d", sum, r.TotalCents)
	}
	// The licenses are revoked: gone from the list, REVOKED, not activatable.
	if got := e.keys(a, licensing.LicenseFilter{}); len(got) != 1 || got[0] != keep {
		t.Fatalf("licenses after the refund: %v", got)
	}
	all := e.list(a, licensing.LicenseFilter{IncludeRevoked: true})
	revoked := 0
	for _, l := range all {
		if l.Validity == licensing.ValidityRevoked && l.RevokedAt != nil {
			revoked++
		}
	}
	if len(all) != 4 || revoked != 3 {
		t.Fatalf("--include-revoked: %d licenses, %d revoked", len(all), revoked)
	}
	key := p.Licenses[0]
	if v, err := e.svc.ValidateLicense(a, key, "", ""); err != nil || v.Code != licensing.ValidRevoked || v.Valid {
		t.Fatalf("validate a revoked license: %+v %v", v, err)
	}
	_, err := e.svc.Activate(a, machine(key, "m1", licensing.OSLinux, "7.5.0"))
	wantCode(t, err, licensing.ECONFLICT, "activating a revoked license")
	_, err = e.svc.GetLicense(a, key)
	wantCode(t, err, licensing.ENOTFOUND, "showing a revoked license")

	// The purchase says so; the refund is listed and an audit event.
	d := e.purchase(a, p.ID)
	if d.PaymentStatus != licensing.PaymentRefunded || d.RefundedCents != p.TotalCents || len(d.Refunds) != 1 || d.Refunds[0].ID != r.ID ||
		d.Refunds[0].LicenseCount != 3 {
		t.Fatalf("refunded purchase %+v", d)
	}
	if got := e.purchases(a, licensing.PurchaseFilter{Kind: licensing.PurchaseKindRefund}); len(got) != 1 || got[0].ID != r.ID || got[0].TotalCents != -p.TotalCents {
		t.Errorf("--kind refund = %+v", got)
	}
	if rd := e.purchase(a, r.ID); len(rd.Licenses) != 3 || deref(rd.RefundOf) != p.ID {
		t.Errorf("GetPurchase(refund) = %+v", rd)
	}
	evs := e.audit(a, licensing.AuditFilter{Action: "purchase.refund"})
	if len(evs) != 1 || evs[0].Object != r.ID {
		t.Errorf("audit = %+v", evs)
	}
	// The same refund twice is one refund.
	again := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID})
	if !again.Replayed || again.ID != r.ID || again.TotalCents != r.TotalCents {
		t.Fatalf("refund again %+v", again)
	}
	if n := len(e.audit(a, licensing.AuditFilter{Limit: 1000})); n != before+1 {
		t.Errorf("audit events %d -> %d, want one more", before, n)
	}
	// A refund is not refunded.
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: r.ID})
	wantCode(t, err, licensing.EINVALID, "refunding a refund")
}

func testRefundPartial(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(withAddOns(line("backup-server", 3)), line("backup-desktop", 2)))
	one := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[1]}})
	// One server license: its price and its per-license support; the
	// onboarding stays until the line's last license goes.
	if one.TotalCents != -(11999+999) || len(one.Licenses) != 1 || one.Licenses[0] != p.Licenses[1] {
		t.Fatalf("one license: %+v", one)
	}
	d := e.purchase(a, p.ID)
	if d.PaymentStatus != licensing.PaymentPartiallyRefunded || d.RefundedCents != 11999+999 {
		t.Fatalf("after one: %+v", d)
	}
	// The same license again (the same refund) answers the first.
	if again := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[1]}}); !again.Replayed || again.ID != one.ID {
		t.Fatalf("again: %+v", again)
	}
	// In another set it is refused, and nothing of the set is refunded.
	_, err := e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[0], p.Licenses[1]}})
	wantCode(t, err, licensing.ECONFLICT, "a license refunded already")
	other := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[0], other}})
	wantCode(t, err, licensing.ENOTFOUND, "a license of another purchase")
	if got := len(e.keys(a, licensing.LicenseFilter{Product: "backup-server"})); got != 2 {
		t.Fatalf("server licenses left: %d, want 2", got)
	}
	// The rest: the onboarding comes back with the line's last license.
	rest := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID})
	if rest.TotalCents != -(2*11999+2*999+19900+2*4999) || len(rest.Licenses) != 4 {
		t.Fatalf("the rest: %+v", rest)
	}
	d = e.purchase(a, p.ID)
	if d.PaymentStatus != licensing.PaymentRefunded || d.RefundedCents != p.TotalCents || len(d.Refunds) != 2 {
		t.Fatalf("after all: %+v", d)
	}
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[0]}})
	wantCode(t, err, licensing.ECONFLICT, "a refunded purchase")
}

func testRefundRefusals(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-desktop", 2)))
	e.activate(a, machine(p.Licenses[0], "m1", licensing.OSLinux, "7.5.0"))
	before := e.state(a)
	// An activated license is not refunded, and neither is the rest of the
	// purchase: all or nothing.
	_, err := e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: p.ID})
	wantCode(t, err, licensing.ECONFLICT, "an activated license")
	if after := e.state(a); after != before {
		t.Fatalf("a refused refund changed %+v -> %+v", before, after)
	}
	// The other license alone may go.
	e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[1]}})

	// Trials have nothing to refund.
	tr := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("mbs-vm", 1)}, Trial: true})
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: tr.ID})
	wantCode(t, err, licensing.EINVALID, "a trial")
	// Another account's purchase is not found.
	b := e.account("b@example.com")
	_, err = e.svc.RefundPurchase(b, licensing.RefundRequest{PurchaseID: p.ID})
	wantCode(t, err, licensing.ENOTFOUND, "another account's purchase")
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: "P-222222222222"})
	wantCode(t, err, licensing.ENOTFOUND, "an unknown purchase")
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{"not-a-key"}})
	wantCode(t, err, licensing.EINVALID, "a malformed key")
	// Past the window (30 days by default): refused.
	late := e.buy(a, req(line("backup-desktop", 1)))
	e.clock.Add(31 * 24 * time.Hour)
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: late.ID})
	wantCode(t, err, licensing.EFORBIDDEN, "past the refund window")
	// Maintenance purchases are refunded with their licenses, not alone.
	m := e.buyMaintenance(a, forKey(late.Licenses[0]))
	_, err = e.svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: m.ID})
	wantCode(t, err, licensing.EINVALID, "a maintenance purchase")
}

func testCancelSubscription(t *testing.T, e *env) {
	a := e.account("a@example.com")
	sub := e.buy(a, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly))).Licenses[0]
	life := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	l, err := e.svc.CancelLicense(a, sub, false)
	if err != nil || l.AutoRenew || l.Validity != licensing.ValidityValid {
		t.Fatalf("CancelLicense = %+v, %v", l, err)
	}
	// Twice is the same; undo while the period lasts turns renewal back on.
	if l, err := e.svc.CancelLicense(a, sub, false); err != nil || l.AutoRenew {
		t.Fatalf("cancel again = %+v, %v", l, err)
	}
	if l, err := e.svc.CancelLicense(a, sub, true); err != nil || !l.AutoRenew {
		t.Fatalf("undo = %+v, %v", l, err)
	}
	if _, err := e.svc.CancelLicense(a, sub, false); err != nil {
		t.Fatal(err)
	}
	// The renewals engine skips it: it ends with its paid month.
	run := e.runRenewals(a, Start().AddDate(0, 1, 0))
	if run.Renewed != 0 || run.Expired != 1 || len(run.Purchases) != 0 {
		t.Fatalf("renewals run = %+v", run)
	}
	e.clock.Set(Start().AddDate(0, 1, 1))
	_, err = e.svc.CancelLicense(a, sub, true)
	wantCode(t, err, licensing.ECONFLICT, "undo after the period ended")
	_, err = e.svc.CancelLicense(a, life, false)
	wantCode(t, err, licensing.EINVALID, "cancelling a lifetime license")
	_, err = e.svc.CancelLicense(a, "00000-00000-00000-00000-00000", false)
	wantCode(t, err, licensing.ENOTFOUND, "an unknown license")
	if evs := e.audit(a, licensing.AuditFilter{Action: "license.cancel"}); len(evs) != 2 {
		t.Errorf("license.cancel events: %+v", evs)
	}
}

func testCancelMaintenance(t *testing.T, e *env) {
	a := e.account("a@example.com")
	key := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	plan := e.buyMaintenance(a, forKey(key)).Plans[0].ID
	m, err := e.svc.CancelMaintenance(a, plan, false)
	if err != nil || m.AutoRenew {
		t.Fatalf("CancelMaintenance = %+v, %v", m, err)
	}
	if m, err := e.svc.CancelMaintenance(a, plan, true); err != nil || !m.AutoRenew {
		t.Fatalf("undo = %+v, %v", m, err)
	}
	_, err = e.svc.CancelMaintenance(e.account("b@example.com"), plan, false)
	wantCode(t, err, licensing.ENOTFOUND, "another account's plan")
}

// testMoneyInvariants runs random buys, renewals and refunds and checks,
// per account and currency, that every purchase's refunded amount is what
// its refunds gave back, never more than it cost, that its status says so,
// and that each revoked license is one a refund names.
func testMoneyInvariants(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(19, 2026))
	accts := []context.Context{e.account("a@example.com"), e.account("b@example.com")}
	products := []licensing.BuyLine{line("backup-desktop", 1), withAddOns(line("backup-server", 1)), billed(line("mbs-desktop", 1), licensing.BillingMonthly)}
	for step := 0; step < 40; step++ {
		ctx := accts[rng.IntN(len(accts))]
		switch op := rng.IntN(10); {
		case op < 5:
			l := products[rng.IntN(len(products))]
			l.Quantity = 1 + rng.IntN(4)
			e.buy(ctx, req(l))
		case op < 6:
			e.clock.Add(24 * time.Hour)
			e.runRenewals(ctx, e.clock.Now())
		default:
			rows := e.purchases(ctx, licensing.PurchaseFilter{Kind: licensing.PurchaseKindPurchase})
			if len(rows) == 0 {
				continue
			}
			p := e.purchase(ctx, rows[rng.IntN(len(rows))].ID)
			r := licensing.RefundRequest{PurchaseID: p.ID}
			if rng.IntN(2) == 0 && len(p.Licenses) > 0 {
				r.Licenses = []string{p.Licenses[rng.IntN(len(p.Licenses))]}
			}
			if _, err := e.svc.RefundPurchase(ctx, r); err != nil && licensing.ErrorCode(err) != licensing.ECONFLICT {
				t.Fatalf("step %d: refund %+v: %v", step, r, err)
			}
		}
	}
	for _, ctx := range accts {
		rows := e.purchases(ctx, licensing.PurchaseFilter{})
		given := map[string]int64{}
		revokedBy := map[string]int{}
		var charged, refunded int64
		for _, r := range rows {
			if r.Kind == licensing.PurchaseKindRefund {
				given[deref(r.RefundOf)] -= r.TotalCents
				revokedBy[deref(r.RefundOf)] += r.LicenseCount
				refunded -= r.TotalCents
				continue
			}
			charged += r.TotalCents
		}
		var net int64
		for _, r := range rows {
			if r.Kind == licensing.PurchaseKindRefund {
				continue
			}
			net += r.TotalCents - r.RefundedCents
			switch {
			case r.RefundedCents != given[r.ID]:
				t.Errorf("%s: refunded_cents %d, its refunds gave back %d", r.ID, r.RefundedCents, given[r.ID])
			case r.RefundedCents < 0 || r.RefundedCents > r.TotalCents:
				t.Errorf("%s: refunded %d of %d", r.ID, r.RefundedCents, r.TotalCents)
			case r.RefundedCents == 0 && r.PaymentStatus != licensing.PaymentPaid,
				r.RefundedCents == r.TotalCents && r.RefundedCents > 0 && r.PaymentStatus != licensing.PaymentRefunded,
				r.RefundedCents > 0 && r.RefundedCents < r.TotalCents && r.PaymentStatus != licensing.PaymentPartiallyRefunded:
				t.Errorf("%s: status %s with %d of %d refunded", r.ID, r.PaymentStatus, r.RefundedCents, r.TotalCents)
			}
		}
		if net != charged-refunded {
			t.Errorf("net %d, charged %d - refunded %d", net, charged, refunded)
		}
		revoked := 0
		for _, l := range e.list(ctx, licensing.LicenseFilter{IncludeRevoked: true}) {
			if l.Validity == licensing.ValidityRevoked {
				revoked++
				revokedBy[l.PurchaseID]--
			}
		}
		for id, n := range revokedBy {
			if n != 0 {
				t.Errorf("%s: refunds name %d more licenses than are revoked", id, n)
			}
		}
		if revoked == 0 {
			t.Log("no license revoked in this sequence")
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// A refunded license's maintenance plans follow it: they end, and their
// money comes back in refunds of their own maintenance purchases, once.
func testRefundPlansFollow(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-server", 2)))
	m := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{All: true})
	if m.Count != 2 {
		t.Fatalf("maintenance %+v", m)
	}
	price := m.Plans[0].PriceCents
	r := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[0]}})
	if len(r.AlsoRefunded) != 1 || r.AlsoRefunded[0].TotalCents != -price || deref(r.AlsoRefunded[0].RefundOf) != m.ID {
		t.Fatalf("refund with its plan: %+v", r)
	}
	if d := e.purchase(a, m.ID); d.PaymentStatus != licensing.PaymentPartiallyRefunded || d.RefundedCents != price || len(d.Refunds) != 1 {
		t.Fatalf("the maintenance purchase after one plan: %+v", d)
	}
	// The other license, then: its plan comes back; nothing twice.
	r2 := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID})
	if len(r2.AlsoRefunded) != 1 || r2.AlsoRefunded[0].TotalCents != -price {
		t.Fatalf("the rest: %+v", r2)
	}
	if d := e.purchase(a, m.ID); d.PaymentStatus != licensing.PaymentRefunded || d.RefundedCents != m.TotalCents {
		t.Fatalf("the maintenance purchase after both: %+v", d)
	}
	for _, pl := range e.plans(a, licensing.MaintenanceFilter{}) {
		if pl.AutoRenew || pl.Status != licensing.MaintenanceExpired {
			t.Errorf("plan of a refunded license: %+v", pl)
		}
	}
}

// More licenses than one statement's list of ids holds (SQLite's limit is
// 32,766 variables; the stores work 1,000 at a time).
func testRefundBulk(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-desktop", 2500)))
	r := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID})
	if len(r.Licenses) != 2500 || r.TotalCents != -2500*4999 {
		t.Fatalf("bulk refund: %d licenses, %d", len(r.Licenses), r.TotalCents)
	}
	if keys := e.keys(a, licensing.LicenseFilter{}); len(keys) != 0 {
		t.Fatalf("%d licenses left", len(keys))
	}
	if all := e.list(a, licensing.LicenseFilter{IncludeRevoked: true}); len(all) != 2500 {
		t.Fatalf("%d revoked licenses listed", len(all))
	}
}
