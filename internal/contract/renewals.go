package contract

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// runRenewals runs the engine as of asOf, moving the clock there first when
// asOf is ahead of it: a run never goes past now.
func (e *env) runRenewals(ctx context.Context, asOf time.Time) *licensing.RenewalRun {
	e.t.Helper()
	if asOf.After(e.clock.Now()) {
		e.clock.Set(asOf)
	}
	run, err := e.renewals().RunRenewals(ctx, asOf)
	if err != nil {
		e.t.Fatalf("RunRenewals(%v): %v", asOf, err)
	}
	return run
}

// renewalFor finds the steps of a run about one object.
func renewalFor(run *licensing.RenewalRun, object string) []licensing.Renewal {
	var out []licensing.Renewal
	for _, r := range run.Renewals {
		if r.Object == object {
			out = append(out, r)
		}
	}
	return out
}

func testRenewals(t *testing.T, e *env) {
	a := e.account("a@example.com")
	server := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	desk := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	renewing := e.buyMaintenance(a, forKey(server)).Plans[0].ID
	ending := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: desk, NoAutoRenew: true}).Plans[0].ID
	annual := e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingAnnual))).Licenses[0]
	monthly := e.buy(a, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly))).Licenses[0]
	stopped := e.buy(a, req(billed(line("mbs-exchange", 1), licensing.BillingMonthly))).Licenses[0]
	if _, err := e.svc.UpdateLicense(a, stopped, licensing.LicenseUpdate{AutoRenew: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	trial := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("mbs-vm", 1)}, Trial: true}).Licenses[0]
	r := e.renewals()

	// The preview: the monthly subscription renews, the stopped one and the trial end.
	due, err := r.DueRenewals(a, Start().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 3 || due[0].Object != trial || due[0].Action != licensing.RenewalExpire || due[0].Kind != licensing.RenewalTrial {
		t.Fatalf("due within a month = %+v", due)
	}
	for _, d := range due[1:] {
		switch {
		case d.Object == monthly && d.Action == licensing.RenewalRenew && d.PriceCents == 299 && sameTime(d.NewEnd, Start().AddDate(0, 2, 0)):
		case d.Object == stopped && d.Action == licensing.RenewalExpire && d.PriceCents == 0:
		default:
			t.Errorf("due: %+v", d)
		}
	}
	if got, err := r.DueRenewals(a, Start().AddDate(0, 0, 10)); err != nil || len(got) != 0 {
		t.Errorf("due within 10 days = %+v, %v", got, err)
	}

	// A month on: one renewal purchase for the monthly subscription.
	before := e.state(a)
	run := e.runRenewals(a, Start().AddDate(0, 1, 0))
	if run.Renewed != 1 || run.Expired != 2 || run.TotalCents != 299 || len(run.Purchases) != 1 {
		t.Fatalf("first run = %+v", run)
	}
	if l := e.license(a, monthly); !sameTime(l.ExpiresAt, Start().AddDate(0, 2, 0)) || l.Validity != licensing.ValidityValid {
		t.Errorf("renewed monthly subscription expires %v", l.ExpiresAt)
	}
	if l := e.license(a, stopped); !sameTime(l.ExpiresAt, Start().AddDate(0, 1, 0)) {
		t.Errorf("stopped subscription expires %v", l.ExpiresAt)
	}
	after := e.state(a)
	// 1 purchase; events: the purchase, 1 renewal, 2 ends.
	if after.purchases != before.purchases+1 || after.events != before.events+4 || after.licenses != before.licenses {
		t.Errorf("first run: %+v -> %+v", before, after)
	}

	// The same date again changes nothing.
	again := e.runRenewals(a, Start().AddDate(0, 1, 0))
	if again.Renewed != 0 || again.Expired != 0 || len(again.Purchases) != 0 || len(again.Renewals) != 0 {
		t.Errorf("second run = %+v", again)
	}
	if now := e.state(a); now != after {
		t.Errorf("second run changed %+v to %+v", after, now)
	}

	// The catalog's price at renewal time applies.
	if _, err := e.svc.ImportProducts(context.Background(), []licensing.Product{
		{SKU: "backup-server", Name: "Backup Server", Term: licensing.TermPerpetual, PriceCents: 12999, Platforms: []string{licensing.OSWindows}},
	}); err != nil {
		t.Fatal(err)
	}

	// Across the year boundary: maintenance and the annual subscription renew
	// once, the monthly one for every month since, the plan without
	// auto-renew ends.
	year := Start().AddDate(1, 0, 0)
	run = e.runRenewals(a, year)
	if got := renewalFor(run, monthly); len(got) != 11 || !sameTime(got[10].NewEnd, year.AddDate(0, 1, 0)) {
		t.Errorf("monthly renewals = %d: %+v", len(got), got)
	}
	if got := renewalFor(run, renewing); len(got) != 1 || got[0].Action != licensing.RenewalRenew || got[0].PriceCents != 2600 ||
		got[0].Kind != licensing.RenewalMaintenance || got[0].LicenseKey != server || !sameTime(got[0].NewEnd, year.AddDate(1, 0, 0)) {
		t.Errorf("maintenance renewal = %+v", got)
	}
	if got := renewalFor(run, ending); len(got) != 1 || got[0].Action != licensing.RenewalExpire {
		t.Errorf("plan with auto-renew off = %+v", got)
	}
	if got := renewalFor(run, annual); len(got) != 1 || got[0].PriceCents != 9999 || !sameTime(got[0].NewEnd, year.AddDate(1, 0, 0)) {
		t.Errorf("annual renewal = %+v", got)
	}
	if want := int64(2600 + 9999 + 11*299); run.Renewed != 13 || run.Expired != 1 || run.TotalCents != want || len(run.Purchases) != 1 {
		t.Errorf("year run = renewed %d expired %d total %d purchases %v; want 13, 1, %d, 1", run.Renewed, run.Expired, run.TotalCents, run.Purchases, want)
	}
	if l := e.license(a, server); l.Maintenance != licensing.MaintenanceActive || !sameTime(l.MaintenanceTill, year.AddDate(1, 0, 0)) {
		t.Errorf("renewed maintenance: %s till %v", l.Maintenance, l.MaintenanceTill)
	}
	e.clock.Set(year)
	if l := e.license(a, desk); l.Maintenance != licensing.MaintenanceExpired {
		t.Errorf("maintenance without auto-renew is %s", l.Maintenance)
	}
	if l := e.license(a, annual); !sameTime(l.ExpiresAt, year.AddDate(1, 0, 0)) || l.Validity != licensing.ValidityValid {
		t.Errorf("annual subscription expires %v", l.ExpiresAt)
	}
	if l := e.license(a, trial); l.Validity != licensing.ValidityExpired {
		t.Errorf("trial is %s", l.Validity)
	}
	if ps := e.plans(a, licensing.MaintenanceFilter{License: server}); len(ps) != 1 || !sameTime(ps[0].EndsAt, year.AddDate(1, 0, 0)) {
		t.Errorf("renewed plan = %+v", ps)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "renewal.renew", Limit: 1000}); len(evs) != 14 {
		t.Errorf("%d renewal.renew events, want 14", len(evs))
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "renewal.expire", Limit: 1000}); len(evs) != 3 {
		t.Errorf("%d renewal.expire events, want 3", len(evs))
	}
	settled := e.state(a)
	if again := e.runRenewals(a, year); again.Renewed != 0 || again.Expired != 0 {
		t.Errorf("second year run = %+v", again)
	}
	if now := e.state(a); now != settled {
		t.Errorf("second year run changed %+v to %+v", settled, now)
	}
}

func testRenewalsScope(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	ka := e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingMonthly))).Licenses[0]
	kb := e.buy(b, req(billed(line("mbs-server", 1), licensing.BillingMonthly))).Licenses[0]
	month := Start().AddDate(0, 1, 0)

	// With an acting account, only that account's items.
	run := e.runRenewals(a, month)
	if run.Renewed != 1 || run.Renewals[0].Object != ka || run.Renewals[0].Account != "a@example.com" {
		t.Fatalf("a's run = %+v", run)
	}
	if l := e.license(b, kb); !sameTime(l.ExpiresAt, month) {
		t.Errorf("a's run renewed b's license: %v", l.ExpiresAt)
	}
	// Without one (the operator, a server's schedule), every account; each
	// pays its own renewals.
	run = e.runRenewals(context.Background(), month)
	if run.Renewed != 1 || run.Renewals[0].Object != kb || run.Renewals[0].Account != "b@example.com" || len(run.Purchases) != 1 {
		t.Fatalf("operator run = %+v", run)
	}
	if evs := e.audit(b, licensing.AuditFilter{Action: "purchase.create", Object: run.Purchases[0]}); len(evs) != 1 {
		t.Errorf("b's renewal purchase is not in b's log: %+v", evs)
	}
	if evs := e.audit(a, licensing.AuditFilter{Object: kb}); len(evs) != 0 {
		t.Errorf("a sees b's renewal: %+v", evs)
	}
	_, err := e.renewals().RunRenewals(licensing.WithAccount(context.Background(), "ghost@example.com"), e.clock.Now())
	wantCode(t, err, licensing.EUNAUTHORIZED, "unknown acting account")
}

// A run as of a time later than now is refused and changes nothing: it would
// charge periods not begun and record ends not happened. The preview may
// look that far ahead; run later, the run does exactly what it showed.
func testRenewalsFutureAndPreview(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	monthly := e.buy(a, req(billed(line("mbs-desktop", 2), licensing.BillingMonthly))).Licenses
	trial := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("mbs-vm", 1)}, Trial: true}).Licenses[0]
	server := e.buy(b, req(line("backup-server", 1))).Licenses[0]
	e.buyMaintenance(b, forKey(server))
	e.buy(b, req(billed(line("mbs-server", 1), licensing.BillingAnnual)))
	r := e.renewals()
	later := Start().AddDate(2, 0, 0)

	beforeA, beforeB := e.state(a), e.state(b)
	for _, ctx := range []context.Context{a, context.Background()} {
		_, err := r.RunRenewals(ctx, later)
		wantCode(t, err, licensing.EINVALID, "a run as of a future date")
		if !strings.Contains(licensing.ErrorHint(err), "--dry-run") {
			t.Errorf("hint %q does not offer the preview", licensing.ErrorHint(err))
		}
		_, err = r.RunRenewals(ctx, e.clock.Now().Add(time.Second))
		wantCode(t, err, licensing.EINVALID, "a run a second ahead")
	}
	if a2, b2 := e.state(a), e.state(b); a2 != beforeA || b2 != beforeB {
		t.Errorf("refused runs changed %+v/%+v to %+v/%+v", beforeA, beforeB, a2, b2)
	}
	if l := e.license(a, trial); l.Validity != licensing.ValidityValid {
		t.Errorf("the trial ended early: %s", l.Validity)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "renewal."}); len(evs) != 0 {
		t.Errorf("refused runs recorded %+v", evs)
	}

	// The preview of every account two years on, then the run once it is due.
	due, err := r.DueRenewals(context.Background(), later)
	if err != nil {
		t.Fatal(err)
	}
	preview := licensing.SummarizeRenewals(later, due)
	if licensing.MostPeriods(due) != 24 || preview.Renewed != 2*24+2+2 || preview.Expired != 1 {
		t.Errorf("preview = renewed %d, expired %d, most periods %d", preview.Renewed, preview.Expired, licensing.MostPeriods(due))
	}
	run := e.runRenewals(context.Background(), later)
	if run.TotalCents != preview.TotalCents || run.Renewed != preview.Renewed || run.Expired != preview.Expired ||
		!slices.Equal(run.Accounts, preview.Accounts) || len(run.Renewals) != len(due) {
		t.Fatalf("run = %d renewed %d expired for %d %+v;\npreview %d renewed %d expired for %d %+v",
			run.Renewed, run.Expired, run.TotalCents, run.Accounts, preview.Renewed, preview.Expired, preview.TotalCents, preview.Accounts)
	}
	for i := range due {
		got, want := run.Renewals[i], due[i]
		got.PurchaseID = ""
		if got.Object != want.Object || !got.DueAt.Equal(want.DueAt) || got.Action != want.Action || got.PriceCents != want.PriceCents {
			t.Errorf("renewal %d = %+v, previewed %+v", i, got, want)
		}
	}
	if len(run.Accounts) != 2 || run.Accounts[0].Account != "a@example.com" || run.Accounts[0].Renewed != 48 ||
		run.Accounts[0].Expired != 1 || run.Accounts[0].TotalCents != 48*299 || run.Accounts[1].Account != "b@example.com" {
		t.Errorf("per account = %+v", run.Accounts)
	}
	if l := e.license(a, monthly[0]); !sameTime(l.ExpiresAt, later.AddDate(0, 1, 0)) {
		t.Errorf("monthly subscription expires %v", l.ExpiresAt)
	}
	if again, err := r.DueRenewals(context.Background(), later); err != nil || len(again) != 0 {
		t.Errorf("due after the run = %+v, %v", again, err)
	}
}
