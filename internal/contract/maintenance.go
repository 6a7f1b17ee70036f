package contract

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

func (e *env) maintenance() licensing.MaintenanceService { return e.svc }

func (e *env) renewals() licensing.RenewalService { return e.svc }

func (e *env) buyMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest) *licensing.MaintenancePurchase {
	e.t.Helper()
	p, err := e.maintenance().BuyMaintenance(ctx, req, nil)
	if err != nil {
		e.t.Fatalf("BuyMaintenance(%+v): %v", req, err)
	}
	return p
}

func (e *env) plans(ctx context.Context, f licensing.MaintenanceFilter) []licensing.MaintenancePlan {
	e.t.Helper()
	ps, err := e.maintenance().ListMaintenance(ctx, f)
	if err != nil {
		e.t.Fatalf("ListMaintenance(%+v): %v", f, err)
	}
	return ps
}

func forKey(key string) licensing.MaintenanceBuyRequest {
	return licensing.MaintenanceBuyRequest{Key: key}
}

func sameTime(t *time.Time, want time.Time) bool { return t != nil && t.Equal(want) }

func testMaintenancePricing(t *testing.T, e *env) {
	// 20% rounded half up to whole units, in integer cents.
	for price, want := range map[int64]int64{29900: 6000, 11999: 2400, 4999: 1000, 250: 100, 249: 0, 99999: 20000, 12250: 2500} {
		if got := licensing.MaintenancePrice(price); got != want {
			t.Errorf("MaintenancePrice(%d) = %d, want %d", price, got, want)
		}
	}
	if _, err := e.svc.ImportProducts(context.Background(), []licensing.Product{
		{SKU: "backup-odd", Name: "Backup Odd", Term: licensing.TermPerpetual, PriceCents: 11999},
	}); err != nil {
		t.Fatal(err)
	}
	a := e.account("a@example.com")
	keys := e.buy(a, req(line("backup-odd", 3))).Licenses
	m := e.buyMaintenance(a, forKey(keys[0]))
	if m.TotalCents != 2400 || m.Plans[0].PriceCents != 2400 || m.Items[0].UnitPriceCents != 2400 {
		t.Errorf("maintenance of a $119.99 product = %+v, want $24.00", m)
	}
	q, err := e.maintenance().QuoteMaintenance(a, licensing.MaintenanceBuyRequest{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if q.Count != 2 || q.TotalCents != 4800 || q.Items[0].Quantity != 2 || q.Items[0].AmountCents != 4800 {
		t.Errorf("quote for the other two = count %d total %d items %+v", q.Count, q.TotalCents, q.Items)
	}
}

func testMaintenanceBuyOne(t *testing.T, e *env) {
	a := e.account("a@example.com")
	key := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	e.clock.Add(time.Hour)
	now := e.clock.Now()
	// Keys are accepted as people type them.
	m := e.buyMaintenance(a, forKey(strings.ToLower(strings.ReplaceAll(key, "-", ""))))
	if m.ID == "" || m.Replayed || m.DryRun || m.Count != 1 || m.PurchaseEmail != "a@example.com" || m.TotalCents != 2400 ||
		m.Currency != "USD" || len(m.Licenses) != 0 || !m.CreatedAt.Equal(now) {
		t.Fatalf("purchase = %+v", m)
	}
	if len(m.Items) != 1 || m.Items[0] != (licensing.LineItem{SKU: "backup-server:maintenance",
		Description: "Maintenance for Backup Server (1 year)", Quantity: 1, UnitPriceCents: 2400, AmountCents: 2400}) {
		t.Errorf("items = %+v", m.Items)
	}
	p := m.Plans[0]
	if !strings.HasPrefix(p.ID, "M-") || p.LicenseKey == nil || *p.LicenseKey != key || p.Product != "backup-server" ||
		p.Status != licensing.MaintenanceActive || !sameTime(p.StartsAt, now) || !sameTime(p.EndsAt, now.AddDate(1, 0, 0)) ||
		!p.AutoRenew || p.PriceCents != 2400 || p.PurchaseID != m.ID {
		t.Errorf("plan = %+v", p)
	}
	l := e.license(a, key)
	if l.Maintenance != licensing.MaintenanceActive || !sameTime(l.MaintenanceTill, now.AddDate(1, 0, 0)) {
		t.Errorf("license maintenance %s till %v", l.Maintenance, l.MaintenanceTill)
	}
	d, err := e.svc.GetLicense(a, key)
	if err != nil || len(d.MaintenancePlans) != 1 || d.MaintenancePlans[0].ID != p.ID {
		t.Errorf("GetLicense plan history = %+v, %v", d.MaintenancePlans, err)
	}
	if got := e.keys(a, licensing.LicenseFilter{Maintenance: licensing.MaintenanceActive}); len(got) != 1 || got[0] != key {
		t.Errorf("--maintenance active = %v", got)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "maintenance.buy"}); len(evs) != 1 || evs[0].Object != m.ID ||
		!strings.Contains(string(evs[0].Details), p.ID) {
		t.Errorf("audit = %+v", evs)
	}
	if evs := e.audit(a, licensing.AuditFilter{Object: m.ID, Action: "purchase.create"}); len(evs) != 1 {
		t.Errorf("a maintenance purchase is a purchase: audit %+v", evs)
	}

	// Auto-renew can be off from the start.
	other := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	off := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: other, NoAutoRenew: true})
	if off.Plans[0].AutoRenew {
		t.Error("plan bought with NoAutoRenew renews")
	}

	// The plan expires with its year; the license shows it.
	e.clock.Set(now.AddDate(1, 0, 0))
	if l := e.license(a, key); l.Maintenance != licensing.MaintenanceExpired {
		t.Errorf("after a year maintenance is %s", l.Maintenance)
	}
	if ps := e.plans(a, licensing.MaintenanceFilter{License: key}); len(ps) != 1 || ps[0].Status != licensing.MaintenanceExpired {
		t.Errorf("plans after a year = %+v", ps)
	}
}

func testMaintenanceStacks(t *testing.T, e *env) {
	a := e.account("a@example.com")
	key := e.buy(a, req(line("backup-ultimate", 1))).Licenses[0]
	first := e.buyMaintenance(a, forKey(key)).Plans[0]
	e.clock.Add(100 * 24 * time.Hour)
	// The quote says where the new year starts: where the current one ends.
	q, err := e.maintenance().QuoteMaintenance(a, forKey(key))
	if err != nil {
		t.Fatal(err)
	}
	end := Start().AddDate(1, 0, 0)
	if !q.DryRun || q.ID != "" || q.TotalCents != 6000 || !sameTime(q.Plans[0].StartsAt, end) || !sameTime(q.Plans[0].EndsAt, end.AddDate(1, 0, 0)) {
		t.Errorf("quote = %+v, plan %+v", q, q.Plans[0])
	}
	if n := len(e.plans(a, licensing.MaintenanceFilter{})); n != 1 {
		t.Fatalf("a quote created plans: %d", n)
	}
	second := e.buyMaintenance(a, forKey(key)).Plans[0]
	if !sameTime(second.StartsAt, end) || !sameTime(second.EndsAt, end.AddDate(1, 0, 0)) || second.Status != licensing.MaintenanceActive {
		t.Errorf("second plan = %+v", second)
	}
	if l := e.license(a, key); !sameTime(l.MaintenanceTill, end.AddDate(1, 0, 0)) {
		t.Errorf("maintenance till %v", l.MaintenanceTill)
	}
	// The newer plan carries the renewal: the first one hands it over.
	ps := e.plans(a, licensing.MaintenanceFilter{License: key})
	if len(ps) != 2 || ps[0].ID != first.ID || ps[0].AutoRenew || !ps[1].AutoRenew {
		t.Errorf("plan history = %+v", ps)
	}
}

func testMaintenanceIdempotency(t *testing.T, e *env) {
	a := e.account("a@example.com")
	keys := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-desktop", 2)}, IdempotencyKey: "lic-1"}).Licenses
	r := licensing.MaintenanceBuyRequest{Key: keys[0], IdempotencyKey: "m-1"}
	first := e.buyMaintenance(a, r)
	again := e.buyMaintenance(a, r)
	if !again.Replayed || again.ID != first.ID || again.Count != 1 || again.Plans[0].ID != first.Plans[0].ID || again.TotalCents != first.TotalCents {
		t.Errorf("replay = %+v, want %+v", again, first)
	}
	before := e.state(a)
	_, err := e.maintenance().BuyMaintenance(a, licensing.MaintenanceBuyRequest{Key: keys[1], IdempotencyKey: "m-1"}, nil)
	wantCode(t, err, licensing.ECONFLICT, "same key, other license")
	_, err = e.maintenance().BuyMaintenance(a, licensing.MaintenanceBuyRequest{Key: keys[1], IdempotencyKey: "lic-1"}, nil)
	wantCode(t, err, licensing.ECONFLICT, "key of a license purchase")
	if after := e.state(a); after != before {
		t.Errorf("refused replays changed %+v to %+v", before, after)
	}
	if n := len(e.plans(a, licensing.MaintenanceFilter{})); n != 1 {
		t.Errorf("%d plans, want 1", n)
	}
}

func testMaintenanceRefusals(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	e.company(a, "Acme")
	perp := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	sub := e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingAnnual))).Licenses[0]
	trial := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-desktop", 1)}, Trial: true}).Licenses[0]
	bKey := e.buy(b, req(line("backup-server", 1))).Licenses[0]
	before := e.state(a)
	m := e.maintenance()

	for _, c := range []struct {
		name string
		req  licensing.MaintenanceBuyRequest
		code string
	}{
		{"subscription license", forKey(sub), licensing.EINVALID},
		{"trial license", forKey(trial), licensing.EINVALID},
		{"--all for a subscription product", licensing.MaintenanceBuyRequest{All: true, Product: "mbs-server"}, licensing.EINVALID},
		{"unassigned for a subscription product", licensing.MaintenanceBuyRequest{Unassigned: true, Product: "mbs-server"}, licensing.EINVALID},
		{"unassigned for an add-on", licensing.MaintenanceBuyRequest{Unassigned: true, Product: "premium-support"}, licensing.EINVALID},
		{"another purchase email", licensing.MaintenanceBuyRequest{Key: perp, PurchaseEmail: "other@example.com"}, licensing.EUNAUTHORIZED},
		{"another account's email", licensing.MaintenanceBuyRequest{All: true, PurchaseEmail: "b@example.com"}, licensing.EUNAUTHORIZED},
		{"malformed email", licensing.MaintenanceBuyRequest{Key: perp, PurchaseEmail: "nope"}, licensing.EINVALID},
		{"unknown key", forKey("00000-00000-00000-00000-00000"), licensing.ENOTFOUND},
		{"another account's key", forKey(bKey), licensing.ENOTFOUND},
		{"malformed key", forKey("ABCDE-12345"), licensing.EINVALID},
		{"unknown product", licensing.MaintenanceBuyRequest{All: true, Product: "backup-none"}, licensing.ENOTFOUND},
		{"unknown company", licensing.MaintenanceBuyRequest{All: true, Company: "Nowhere"}, licensing.ENOTFOUND},
		{"nothing asked", licensing.MaintenanceBuyRequest{}, licensing.EINVALID},
		{"key and --all", licensing.MaintenanceBuyRequest{Key: perp, All: true}, licensing.EINVALID},
		{"--unassigned without product", licensing.MaintenanceBuyRequest{Unassigned: true}, licensing.EINVALID},
		{"quantity with --all", licensing.MaintenanceBuyRequest{All: true, Quantity: 3}, licensing.EINVALID},
		{"quantity too large", licensing.MaintenanceBuyRequest{Unassigned: true, Product: "backup-server", Quantity: licensing.MaxQuantity + 1}, licensing.EINVALID},
	} {
		_, err := m.BuyMaintenance(a, c.req, nil)
		wantCode(t, err, c.code, c.name)
		_, err = m.QuoteMaintenance(a, c.req)
		wantCode(t, err, c.code, c.name+" (quote)")
	}
	_, err := m.BuyMaintenance(licensing.WithAccount(context.Background(), "ghost@example.com"), forKey(perp), nil)
	wantCode(t, err, licensing.EUNAUTHORIZED, "unknown acting account")
	if after := e.state(a); after != before {
		t.Errorf("refusals changed %+v to %+v", before, after)
	}
	if ps := e.plans(a, licensing.MaintenanceFilter{}); len(ps) != 0 {
		t.Errorf("refusals left plans %+v", ps)
	}
	if l := e.license(a, perp); l.MaintenanceTill != nil {
		t.Errorf("refusals set maintenance till %v", l.MaintenanceTill)
	}

	// The login email itself, in any case, is fine.
	p := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: perp, PurchaseEmail: "A@Example.com"})
	if p.PurchaseEmail != "a@example.com" {
		t.Errorf("purchase email %q", p.PurchaseEmail)
	}
}

func testMaintenanceBulk(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	desk := e.buy(a, req(line("backup-desktop", 4))).Licenses
	e.buy(a, req(inCompany(line("backup-server", 2), "Acme")))
	e.buy(a, req(billed(line("mbs-server", 2), licensing.BillingMonthly)))
	e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-ultimate", 1)}, Trial: true})
	e.buyMaintenance(a, forKey(desk[0]))
	m := e.maintenance()

	all := licensing.MaintenanceBuyRequest{All: true}
	before := e.state(a)
	q, err := m.QuoteMaintenance(a, all)
	if err != nil {
		t.Fatal(err)
	}
	// 3 desktops at $10 and 2 servers at $24; not the covered desktop, the
	// subscriptions or the trial.
	if q.Count != 5 || q.TotalCents != 3*1000+2*2400 || len(q.Items) != 2 ||
		q.Items[0].SKU != "backup-desktop:maintenance" || q.Items[0].Quantity != 3 ||
		q.Items[1].SKU != "backup-server:maintenance" || q.Items[1].Quantity != 2 {
		t.Fatalf("quote = count %d total %d items %+v", q.Count, q.TotalCents, q.Items)
	}
	if after := e.state(a); after != before {
		t.Errorf("quote changed %+v to %+v", before, after)
	}
	for _, c := range []struct {
		req          licensing.MaintenanceBuyRequest
		count        int
		total        int64
		nameForError string
	}{
		{licensing.MaintenanceBuyRequest{All: true, Company: "acme"}, 2, 4800, "--company"},
		{licensing.MaintenanceBuyRequest{All: true, Product: "backup-desktop"}, 3, 3000, "--product"},
		{licensing.MaintenanceBuyRequest{All: true, Product: "backup-desktop", Company: "Acme"}, 0, 0, "both"},
	} {
		q, err := m.QuoteMaintenance(a, c.req)
		if err != nil || q.Count != c.count || q.TotalCents != c.total {
			t.Errorf("%s: quote count %d total %d, %v; want %d, %d", c.nameForError, q.Count, q.TotalCents, err, c.count, c.total)
		}
	}

	var progress []int
	p, err := m.BuyMaintenance(a, all, func(n int) { progress = append(progress, n) })
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Count != 5 || p.TotalCents != 7800 || len(p.Plans) != 5 || len(progress) == 0 || progress[len(progress)-1] != 5 {
		t.Fatalf("bulk purchase = %+v, progress %v", p, progress)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "purchase.create", Object: p.ID}); len(evs) != 1 {
		t.Errorf("bulk purchase is %d purchases", len(evs))
	}
	if got := e.keys(a, licensing.LicenseFilter{Maintenance: licensing.MaintenanceNone}); len(got) != 3 {
		t.Errorf("licenses with no maintenance = %v, want the 2 subscriptions and the trial", got)
	}
	if got := e.keys(a, licensing.LicenseFilter{Maintenance: licensing.MaintenanceActive}); len(got) != 6 {
		t.Errorf("licenses with active maintenance = %d, want 6", len(got))
	}

	// Nothing left to cover: nothing bought, no purchase.
	before = e.state(a)
	none, err := m.BuyMaintenance(a, all, nil)
	if err != nil || none.Count != 0 || none.ID != "" || none.TotalCents != 0 {
		t.Errorf("second bulk = %+v, %v", none, err)
	}
	if after := e.state(a); after != before {
		t.Errorf("empty bulk changed %+v to %+v", before, after)
	}

	// A year later every plan has ended: they all need one again.
	e.clock.Set(Start().AddDate(1, 0, 1))
	q, err = m.QuoteMaintenance(a, all)
	if err != nil || q.Count != 6 || q.TotalCents != 4*1000+2*2400 {
		t.Errorf("quote a year later = count %d total %d, %v", q.Count, q.TotalCents, err)
	}
}

func testMaintenanceAssign(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	server := e.buy(a, req(line("backup-server", 2))).Licenses
	desk := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	trial := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-server", 1)}, Trial: true}).Licenses[0]
	m := e.maintenance()

	p := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Unassigned: true, Product: "backup-server", Quantity: 3})
	if p.Count != 3 || p.TotalCents != 3*2400 {
		t.Fatalf("unassigned purchase = %+v", p)
	}
	avail := e.plans(a, licensing.MaintenanceFilter{Available: true})
	if len(avail) != 3 {
		t.Fatalf("available = %+v", avail)
	}
	for _, pl := range avail {
		if pl.Status != licensing.MaintenanceAvailable || pl.LicenseKey != nil || pl.StartsAt != nil || pl.EndsAt != nil {
			t.Errorf("available plan = %+v", pl)
		}
	}
	if l := e.license(a, server[0]); l.MaintenanceTill != nil {
		t.Errorf("unassigned plans covered a license: %v", l.MaintenanceTill)
	}

	e.clock.Add(24 * time.Hour)
	now := e.clock.Now()
	id := avail[0].ID
	got, err := m.AssignMaintenance(a, strings.ToLower(id), server[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.LicenseKey == nil || *got.LicenseKey != server[0] || got.Status != licensing.MaintenanceActive ||
		!sameTime(got.StartsAt, now) || !sameTime(got.EndsAt, now.AddDate(1, 0, 0)) {
		t.Errorf("assigned = %+v", got)
	}
	if l := e.license(a, server[0]); !sameTime(l.MaintenanceTill, now.AddDate(1, 0, 0)) {
		t.Errorf("maintenance till %v", l.MaintenanceTill)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "maintenance.assign", Object: id}); len(evs) != 1 {
		t.Errorf("assign audit = %+v", evs)
	}

	before := e.state(a)
	for _, c := range []struct {
		name, id, key, code string
	}{
		{"wrong product", avail[1].ID, desk, licensing.ECONFLICT},
		{"license already covered", avail[1].ID, server[0], licensing.ECONFLICT},
		{"plan already assigned", id, server[1], licensing.ECONFLICT},
		{"plan already assigned to that license", id, server[0], licensing.ECONFLICT},
		{"trial license", avail[1].ID, trial, licensing.EINVALID},
		{"unknown plan", "M-000000000000", server[1], licensing.ENOTFOUND},
		{"malformed plan id", "P-123", server[1], licensing.EINVALID},
		{"unknown license", avail[1].ID, "00000-00000-00000-00000-00000", licensing.ENOTFOUND},
		{"malformed key", avail[1].ID, "nope", licensing.EINVALID},
	} {
		_, err := m.AssignMaintenance(a, c.id, c.key)
		wantCode(t, err, c.code, c.name)
	}
	// Another account's plan is unknown to b, and a's plan cannot cover b's license.
	bKey := e.buy(b, req(line("backup-server", 1))).Licenses[0]
	_, err = m.AssignMaintenance(b, avail[1].ID, bKey)
	wantCode(t, err, licensing.ENOTFOUND, "another account's plan")
	_, err = m.AssignMaintenance(a, avail[1].ID, bKey)
	wantCode(t, err, licensing.ENOTFOUND, "another account's license")
	if after := e.state(a); after != before {
		t.Errorf("refused assigns changed %+v to %+v", before, after)
	}
	if n := len(e.plans(a, licensing.MaintenanceFilter{Available: true})); n != 2 {
		t.Errorf("%d plans available after refusals, want 2", n)
	}
	if _, err := m.AssignMaintenance(a, avail[1].ID, server[1]); err != nil {
		t.Errorf("assign to the other server: %v", err)
	}
}

func testMaintenanceSet(t *testing.T, e *env) {
	a := e.account("a@example.com")
	key := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	id := e.buyMaintenance(a, forKey(key)).Plans[0].ID
	m := e.maintenance()
	got, err := m.UpdateMaintenance(a, id, licensing.MaintenanceUpdate{AutoRenew: ptr(false)})
	if err != nil || got.AutoRenew {
		t.Fatalf("UpdateMaintenance = %+v, %v", got, err)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "maintenance.update", Object: id}); len(evs) != 1 {
		t.Errorf("update audit = %+v", evs)
	}
	// Setting what is already set records nothing.
	if _, err := m.UpdateMaintenance(a, id, licensing.MaintenanceUpdate{AutoRenew: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "maintenance.update"}); len(evs) != 1 {
		t.Errorf("no-op update audited: %+v", evs)
	}
	_, err = m.UpdateMaintenance(a, id, licensing.MaintenanceUpdate{})
	wantCode(t, err, licensing.EINVALID, "nothing to change")
	_, err = m.UpdateMaintenance(a, "M-000000000000", licensing.MaintenanceUpdate{AutoRenew: ptr(true)})
	wantCode(t, err, licensing.ENOTFOUND, "unknown plan")
	b := e.account("b@example.com")
	_, err = m.UpdateMaintenance(b, id, licensing.MaintenanceUpdate{AutoRenew: ptr(true)})
	wantCode(t, err, licensing.ENOTFOUND, "another account's plan")
	e.clock.Set(Start().AddDate(2, 0, 0))
	_, err = m.UpdateMaintenance(a, id, licensing.MaintenanceUpdate{AutoRenew: ptr(true)})
	wantCode(t, err, licensing.ECONFLICT, "auto-renew on for an ended plan")
}

// A plan follows its license when the license is attached to another
// account: the new owner sees it, switches it and pays its renewals.
func testMaintenanceFollowsLicense(t *testing.T, e *env) {
	at := newAttachEnv(t, e)
	jane := e.account("jane@example.com")
	key := at.buyFor("jane@example.com", 1).Licenses[0]
	id := e.buyMaintenance(jane, forKey(key)).Plans[0].ID
	b := e.account("b@example.com")
	if _, err := at.svc.ConfirmAttach(b, at.code(b, byKey(key))); err != nil {
		t.Fatal(err)
	}
	if ps := e.plans(jane, licensing.MaintenanceFilter{}); len(ps) != 0 {
		t.Errorf("previous owner still lists %+v", ps)
	}
	if ps := e.plans(b, licensing.MaintenanceFilter{}); len(ps) != 1 || ps[0].ID != id {
		t.Fatalf("new owner lists %+v", ps)
	}
	if _, err := e.maintenance().UpdateMaintenance(b, id, licensing.MaintenanceUpdate{AutoRenew: ptr(true)}); err != nil {
		t.Errorf("new owner cannot switch the plan: %v", err)
	}
	run := e.runRenewals(context.Background(), Start().AddDate(1, 0, 0))
	if len(run.Renewals) != 1 || run.Renewals[0].Account != "b@example.com" || run.Renewed != 1 {
		t.Errorf("renewal after the transfer = %+v", run.Renewals)
	}
}
