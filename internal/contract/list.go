package contract

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// fixture is an account with seven licenses bought a minute apart:
// two lifetime Desktop in the pool, three annual MBS Server in Acme, one MBS
// Desktop trial in the pool and one lifetime Server in Beta.
type fixture struct {
	a                            context.Context
	desktop, server, trial, beta []string
	all                          []string
	serverID                     string
}

func (e *env) fixture() *fixture {
	e.t.Helper()
	f := &fixture{a: e.account("a@example.com")}
	e.company(f.a, "Acme")
	e.company(f.a, "Beta")
	f.desktop = e.buy(f.a, req(line("backup-desktop", 2))).Licenses
	e.clock.Add(time.Minute)
	p := e.buy(f.a, req(inCompany(billed(line("mbs-server", 3), licensing.BillingAnnual), "Acme")))
	f.server, f.serverID = p.Licenses, p.ID
	e.clock.Add(time.Minute)
	trial := req(line("mbs-desktop", 1))
	trial.Trial = true
	f.trial = e.buy(f.a, trial).Licenses
	e.clock.Add(time.Minute)
	f.beta = e.buy(f.a, req(inCompany(line("backup-server", 1), "Beta"))).Licenses
	f.all = join(f.desktop, f.server, f.trial, f.beta)
	return f
}

func join(lists ...[]string) []string {
	out := []string{}
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func (e *env) wantKeys(ctx context.Context, what string, f licensing.LicenseFilter, want []string) {
	e.t.Helper()
	got := e.keys(ctx, f)
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("%s: got %v\nwant %v", what, got, want)
	}
}

func testListFilters(t *testing.T, e *env) {
	f := e.fixture()
	none := []string{}
	for _, c := range []struct {
		name   string
		filter licensing.LicenseFilter
		want   []string
	}{
		{"no filter (purchase order)", licensing.LicenseFilter{}, f.all},
		{"company", licensing.LicenseFilter{Company: "Acme"}, f.server},
		{"company in other case", licensing.LicenseFilter{Company: "acme"}, f.server},
		{"pool", licensing.LicenseFilter{Pool: true}, join(f.desktop, f.trial)},
		{"trial", licensing.LicenseFilter{Kind: licensing.KindTrial}, f.trial},
		{"commercial", licensing.LicenseFilter{Kind: licensing.KindCommercial}, join(f.desktop, f.server, f.beta)},
		{"valid", licensing.LicenseFilter{Validity: licensing.ValidityValid}, f.all},
		{"expired", licensing.LicenseFilter{Validity: licensing.ValidityExpired}, none},
		{"used", licensing.LicenseFilter{Usage: licensing.UsageUsed}, none},
		{"unused", licensing.LicenseFilter{Usage: licensing.UsageUnused}, f.all},
		{"activated", licensing.LicenseFilter{Status: licensing.StatusActivated}, none},
		{"not activated", licensing.LicenseFilter{Status: licensing.StatusNotActivated}, f.all},
		{"maintenance none", licensing.LicenseFilter{Maintenance: licensing.MaintenanceNone}, f.all},
		{"maintenance active", licensing.LicenseFilter{Maintenance: licensing.MaintenanceActive}, none},
		{"maintenance expired", licensing.LicenseFilter{Maintenance: licensing.MaintenanceExpired}, none},
		{"auto-renew", licensing.LicenseFilter{AutoRenew: true}, f.server},
		{"product", licensing.LicenseFilter{Product: "mbs-server"}, f.server},
		{"pool and commercial", licensing.LicenseFilter{Pool: true, Kind: licensing.KindCommercial}, f.desktop},
		{"company, auto-renew, valid", licensing.LicenseFilter{Company: "Acme", AutoRenew: true, Validity: licensing.ValidityValid}, f.server},
		{"no match", licensing.LicenseFilter{Company: "Beta", Kind: licensing.KindTrial}, none},
		// Enumerated values in any case, and "all" for no filter.
		{"kind in other case", licensing.LicenseFilter{Kind: "Trial"}, f.trial},
		{"all of every filter", licensing.LicenseFilter{Kind: "all", Validity: "ALL", Usage: "All", Status: "all", Maintenance: "all"}, f.all},
		{"status in words", licensing.LicenseFilter{Status: "Not Activated", Usage: "UNUSED"}, f.all},
		{"maintenance in other case", licensing.LicenseFilter{Maintenance: "Active"}, none},
	} {
		e.wantKeys(f.a, c.name, c.filter, c.want)
	}

	for _, l := range e.list(f.a, licensing.LicenseFilter{Company: "Acme"}) {
		if l.Company == nil || *l.Company != "Acme" {
			t.Errorf("license in Acme shows company %v", l.Company)
		}
	}
	for _, c := range []struct {
		name   string
		filter licensing.LicenseFilter
		code   string
	}{
		{"unknown company", licensing.LicenseFilter{Company: "Nowhere"}, licensing.ENOTFOUND},
		{"unknown product", licensing.LicenseFilter{Product: "backup-teapot"}, licensing.ENOTFOUND},
		{"unknown kind", licensing.LicenseFilter{Kind: "free"}, licensing.EINVALID},
		{"unknown validity", licensing.LicenseFilter{Validity: "maybe"}, licensing.EINVALID},
		{"pool and company", licensing.LicenseFilter{Pool: true, Company: "Acme"}, licensing.EINVALID},
		{"negative limit", licensing.LicenseFilter{Limit: -1}, licensing.EINVALID},
		{"unknown sort field", licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "price"}}}, licensing.EINVALID},
	} {
		err := e.svc.ListLicenses(f.a, c.filter, func(*licensing.License) error { return nil })
		wantCode(t, err, c.code, c.name)
		_, err = e.svc.GroupLicenses(f.a, c.filter)
		if c.name != "unknown sort field" && c.name != "negative limit" { // group ignores sort and limit
			wantCode(t, err, c.code, "group: "+c.name)
		}
	}
}

func testListValidityOverTime(t *testing.T, e *env) {
	f := e.fixture()
	e.clock.Set(Start().AddDate(0, 0, licensing.TrialDays).Add(time.Hour))
	e.wantKeys(f.a, "expired after the trial period", licensing.LicenseFilter{Validity: licensing.ValidityExpired}, f.trial)
	e.wantKeys(f.a, "valid after the trial period", licensing.LicenseFilter{Validity: licensing.ValidityValid}, join(f.desktop, f.server, f.beta))
	if l := e.license(f.a, f.trial[0]); l.Validity != licensing.ValidityExpired {
		t.Errorf("trial license after its period: validity %s", l.Validity)
	}
	e.clock.Set(Start().AddDate(1, 0, 1))
	e.wantKeys(f.a, "expired after a year", licensing.LicenseFilter{Validity: licensing.ValidityExpired}, join(f.server, f.trial))
	e.wantKeys(f.a, "lifetime licenses never expire", licensing.LicenseFilter{Validity: licensing.ValidityValid}, join(f.desktop, f.beta))
	// Expired is not "not activated": the status filter does not change.
	e.wantKeys(f.a, "not activated", licensing.LicenseFilter{Status: licensing.StatusNotActivated}, f.all)
}

func testListSearch(t *testing.T, e *env) {
	f := e.fixture()
	e.company(f.a, "50% Off_Shop")
	odd := e.buy(f.a, req(inCompany(line("backup-desktop", 1), "50% Off_Shop"))).Licenses
	f.all = join(f.all, odd)
	// A random key or purchase id (Crockford base32) may hold "ACM" too.
	acm := []string{}
	for _, l := range e.list(f.a, licensing.LicenseFilter{}) {
		if strings.Contains(l.Key, "ACM") || strings.Contains(strings.ToUpper(l.PurchaseID), "ACM") || slices.Contains(f.server, l.Key) {
			acm = append(acm, l.Key)
		}
	}
	for _, c := range []struct {
		name, search string
		want         []string
	}{
		{"key fragment in lower case", strings.ToLower(f.beta[0][5:12]), f.beta},
		{"whole key", f.server[1], f.server[1:2]},
		{"product sku", "mbs-server", f.server},
		{"product name, any case", "MANAGED backup", join(f.server, f.trial)},
		{"company name", "acm", acm},
		{"purchase id", strings.ToLower(f.serverID), f.server},
		{"every product", "backup", f.all},
		{"backslash", `\`, []string{}},
		{"LIKE wildcard % is literal", "%", odd},
		{"LIKE wildcard _ is literal", "_", odd},
		{"LIKE wildcards in a phrase", "0% off_s", odd},
		{"LIKE wildcards do not match other text", "0%_off", []string{}},
		{"nothing", "zzzz-no-such-thing", []string{}},
	} {
		e.wantKeys(f.a, "search "+c.name, licensing.LicenseFilter{Search: c.search}, c.want)
	}
	e.wantKeys(f.a, "search with a filter", licensing.LicenseFilter{Search: "backup", Kind: licensing.KindTrial}, f.trial)
	err := e.svc.ListLicenses(f.a, licensing.LicenseFilter{Search: strings.Repeat("x", 201)}, func(*licensing.License) error { return nil })
	wantCode(t, err, licensing.EINVALID, "overlong search")
}

// sortedBy checks that ls is ordered by cmp (ties in any order).
func sortedBy(t *testing.T, what string, ls []*licensing.License, cmp func(a, b *licensing.License) int) {
	t.Helper()
	if !slices.IsSortedFunc(ls, cmp) {
		var keys []string
		for _, l := range ls {
			keys = append(keys, l.Key)
		}
		t.Errorf("%s: not sorted: %v", what, keys)
	}
}

// cmpTime orders optional times with "none" first, as the sort does.
func cmpTime(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}

func cmpCompany(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Compare(strings.ToLower(*a), strings.ToLower(*b))
}

func sorts(s string) []licensing.SortField {
	f, err := licensing.ParseSort(s)
	if err != nil {
		panic(err)
	}
	return f
}

func testListSort(t *testing.T, e *env) {
	f := e.fixture()
	a := f.a
	byKey := slices.Sorted(slices.Values(f.all))
	e.wantKeys(a, "key", licensing.LicenseFilter{Sort: sorts("key")}, byKey)
	reversed := slices.Clone(byKey)
	slices.Reverse(reversed)
	e.wantKeys(a, "-key", licensing.LicenseFilter{Sort: sorts("-key")}, reversed)

	// Ascending ties keep the purchase order.
	e.wantKeys(a, "product", licensing.LicenseFilter{Sort: sorts("product")}, join(f.desktop, f.beta, f.trial, f.server))
	e.wantKeys(a, "company (pool first)", licensing.LicenseFilter{Sort: sorts("company")}, join(f.desktop, f.trial, f.server, f.beta))
	e.wantKeys(a, "kind", licensing.LicenseFilter{Sort: sorts("kind")}, join(f.desktop, f.server, f.beta, f.trial))
	e.wantKeys(a, "expires_at (never first)", licensing.LicenseFilter{Sort: sorts("expires_at")}, join(f.desktop, f.beta, f.trial, f.server))
	e.wantKeys(a, "auto_renew", licensing.LicenseFilter{Sort: sorts("auto_renew")}, join(f.desktop, f.trial, f.beta, f.server))
	e.wantKeys(a, "created_at", licensing.LicenseFilter{Sort: sorts("created_at")}, f.all)
	for _, same := range []string{"status", "usage", "maintenance_till", "allow_rm", "validity"} {
		e.wantKeys(a, same+" (all equal)", licensing.LicenseFilter{Sort: sorts(same)}, f.all)
	}

	sortedBy(t, "-product", e.list(a, licensing.LicenseFilter{Sort: sorts("-product")}),
		func(x, y *licensing.License) int { return cmp.Compare(y.Product, x.Product) })
	sortedBy(t, "-company", e.list(a, licensing.LicenseFilter{Sort: sorts("-company")}),
		func(x, y *licensing.License) int { return cmpCompany(y.Company, x.Company) })
	sortedBy(t, "-expires_at", e.list(a, licensing.LicenseFilter{Sort: sorts("-expires_at")}),
		func(x, y *licensing.License) int { return cmpTime(y.ExpiresAt, x.ExpiresAt) })
	sortedBy(t, "purchase_id", e.list(a, licensing.LicenseFilter{Sort: sorts("purchase_id")}),
		func(x, y *licensing.License) int { return cmp.Compare(x.PurchaseID, y.PurchaseID) })
	kindThenNewest := e.list(a, licensing.LicenseFilter{Sort: sorts("kind,-created_at")})
	sortedBy(t, "kind,-created_at", kindThenNewest, func(x, y *licensing.License) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), y.CreatedAt.Compare(x.CreatedAt))
	})
	if len(kindThenNewest) != 7 || kindThenNewest[0].Key != f.beta[0] || kindThenNewest[6].Key != f.trial[0] {
		t.Errorf("kind,-created_at: first %s last %s", kindThenNewest[0].Key, kindThenNewest[6].Key)
	}

	// Enumerations sort by their printed value: "expired" < "valid".
	e.clock.Set(Start().AddDate(0, 0, licensing.TrialDays+1))
	e.wantKeys(a, "validity", licensing.LicenseFilter{Sort: sorts("validity")}, join(f.trial, f.desktop, f.server, f.beta))
	if _, err := e.svc.UpdateLicense(a, f.beta[0], licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if got := e.keys(a, licensing.LicenseFilter{Sort: sorts("-allow_rm")}); got[0] != f.beta[0] {
		t.Errorf("-allow_rm: first %s, want %s", got[0], f.beta[0])
	}
	// The same query always answers the same order.
	q := licensing.LicenseFilter{Sort: sorts("-kind")}
	if x, y := e.keys(a, q), e.keys(a, q); !slices.Equal(x, y) {
		t.Errorf("-kind twice: %v then %v", x, y)
	}

	// Company names sort regardless of case ("Acme" < "alpha" < "Beta"), with
	// or without a filter.
	e.company(a, "alpha")
	if _, err := e.svc.UpdateLicense(a, f.desktop[0], licensing.LicenseUpdate{Company: ptr("alpha")}); err != nil {
		t.Fatal(err)
	}
	e.wantKeys(a, "company, any case", licensing.LicenseFilter{Sort: sorts("company")},
		join(f.desktop[1:], f.trial, f.server, f.desktop[:1], f.beta))
	e.wantKeys(a, "commercial by company", licensing.LicenseFilter{Kind: licensing.KindCommercial, Sort: sorts("company")},
		join(f.desktop[1:], f.server, f.desktop[:1], f.beta))
}

func testListLimitOffset(t *testing.T, e *env) {
	f := e.fixture()
	byKey := slices.Sorted(slices.Values(f.all))
	page := func(limit, offset int) licensing.LicenseFilter {
		return licensing.LicenseFilter{Sort: sorts("key"), Limit: limit, Offset: offset}
	}
	e.wantKeys(f.a, "limit 2 offset 1", page(2, 1), byKey[1:3])
	e.wantKeys(f.a, "offset only", page(0, 5), byKey[5:])
	e.wantKeys(f.a, "limit past the end", page(100, 0), byKey)
	e.wantKeys(f.a, "offset past the end", page(10, 100), []string{})
	e.wantKeys(f.a, "limit, default order", licensing.LicenseFilter{Limit: 3}, f.all[:3])
}

func testListStopsOnError(t *testing.T, e *env) {
	f := e.fixture()
	stop := errors.New("stop")
	calls := 0
	err := e.svc.ListLicenses(f.a, licensing.LicenseFilter{}, func(*licensing.License) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ListLicenses = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func testGroupLicenses(t *testing.T, e *env) {
	f := e.fixture()
	group := func(filter licensing.LicenseFilter) []licensing.LicenseGroup {
		t.Helper()
		g, err := e.svc.GroupLicenses(f.a, filter)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	want := []licensing.LicenseGroup{
		{Product: "backup-desktop", ProductName: "Backup Desktop", Total: 2, Valid: 2, Unused: 2},
		{Product: "backup-server", ProductName: "Backup Server", Total: 1, Valid: 1, Unused: 1},
		{Product: "mbs-desktop", ProductName: "Managed Backup Desktop", Total: 1, Valid: 1, Unused: 1, Trial: 1},
		{Product: "mbs-server", ProductName: "Managed Backup Server", Total: 3, Valid: 3, Unused: 3},
	}
	// Sort and limit apply to the expanded list, not to the groups.
	if got := group(licensing.LicenseFilter{Sort: sorts("-key"), Limit: 1}); !slices.Equal(got, want) {
		t.Errorf("groups =\n %+v\nwant\n %+v", got, want)
	}
	if got := group(licensing.LicenseFilter{Company: "Acme"}); !slices.Equal(got, want[3:]) {
		t.Errorf("groups in Acme = %+v", got)
	}
	e.clock.Set(Start().AddDate(0, 0, licensing.TrialDays+1))
	got := group(licensing.LicenseFilter{})
	if len(got) != 4 || got[2].Expired != 1 || got[2].Valid != 0 || got[0].Expired != 0 {
		t.Errorf("groups after the trial period = %+v", got)
	}
	b := e.account("b@example.com")
	if g, err := e.svc.GroupLicenses(b, licensing.LicenseFilter{}); err != nil || len(g) != 0 {
		t.Errorf("b's groups = %+v, %v", g, err)
	}
}

func testGetLicense(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-desktop", 1)))
	key := p.Licenses[0]
	// Keys are accepted as people type them.
	d, err := e.svc.GetLicense(a, strings.ToLower(strings.ReplaceAll(key, "-", "")))
	if err != nil {
		t.Fatal(err)
	}
	if d.Key != key || d.PurchaseID != p.ID || !d.PurchasedAt.Equal(Start()) || d.Activations != 0 ||
		d.LatestVersion != "7.9.4" || !slices.Equal(d.Platforms, []string{licensing.OSWindows, licensing.OSMacOS, licensing.OSLinux}) ||
		!d.RMSupported || d.Validity != licensing.ValidityValid || d.Status != licensing.StatusNotActivated {
		t.Errorf("GetLicense = %+v", d)
	}

	// Allow RM needs version 5.2 or newer; versions compare as numbers.
	if _, err := e.svc.ImportProducts(context.Background(), []licensing.Product{
		{SKU: "backup-legacy", Name: "Backup Legacy", Term: licensing.TermPerpetual, PriceCents: 1000, LatestVersion: "5.1.9"},
		{SKU: "backup-next", Name: "Backup Next", Term: licensing.TermPerpetual, PriceCents: 1000, LatestVersion: "5.10"},
	}); err != nil {
		t.Fatal(err)
	}
	for sku, want := range map[string]bool{"backup-legacy": false, "backup-next": true} {
		d, err := e.svc.GetLicense(a, e.buy(a, req(line(sku, 1))).Licenses[0])
		if err != nil || d.RMSupported != want {
			t.Errorf("%s: RMSupported %v, %v; want %v", sku, d.RMSupported, err, want)
		}
	}

	badCheck := key[:len(key)-1] + string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", key[len(key)-1])+1)%32])
	for _, bad := range []string{"nope", "", badCheck, key + "X"} {
		_, err := e.svc.GetLicense(a, bad)
		wantCode(t, err, licensing.EINVALID, "malformed key "+bad)
	}
}

func testUpdateLicense(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	perp := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	sub := e.buy(a, req(billed(line("mbs-server", 1), licensing.BillingAnnual))).Licenses[0]
	trialReq := req(line("mbs-vm", 1))
	trialReq.Trial = true
	trial := e.buy(a, trialReq).Licenses[0]

	update := func(key string, u licensing.LicenseUpdate) *licensing.License {
		t.Helper()
		l, err := e.svc.UpdateLicense(a, key, u)
		if err != nil {
			t.Fatalf("UpdateLicense(%s, %+v): %v", key, u, err)
		}
		return l
	}
	if l := update(perp, licensing.LicenseUpdate{AllowRM: ptr(true)}); !l.AllowRM || l.Key != perp {
		t.Errorf("allow_rm on: %+v", l)
	}
	if !e.license(a, perp).AllowRM {
		t.Error("allow_rm not stored")
	}
	if l := update(perp, licensing.LicenseUpdate{Company: ptr("acme")}); l.Company == nil || *l.Company != "Acme" {
		t.Errorf("moved to Acme: company %v", l.Company)
	}
	if cs, _ := e.svc.ListCompanies(a); len(cs) != 1 || cs[0].Licenses != 1 {
		t.Errorf("companies after the move: %+v", cs)
	}
	if l := update(perp, licensing.LicenseUpdate{Company: ptr("")}); l.Company != nil {
		t.Errorf("moved to the pool: company %v", *l.Company)
	}

	_, err := e.svc.UpdateLicense(a, perp, licensing.LicenseUpdate{Company: ptr("Nope")})
	wantCode(t, err, licensing.ENOTFOUND, "move to an unknown company")
	for what, key := range map[string]string{"lifetime": perp, "trial": trial} {
		for _, on := range []bool{true, false} {
			_, err := e.svc.UpdateLicense(a, key, licensing.LicenseUpdate{AutoRenew: ptr(on)})
			wantCode(t, err, licensing.EINVALID, "auto-renew on a "+what+" license")
		}
	}
	if l := update(sub, licensing.LicenseUpdate{AutoRenew: ptr(false)}); l.AutoRenew {
		t.Error("auto_renew still on")
	}
	e.wantKeys(a, "auto-renew after turning it off", licensing.LicenseFilter{AutoRenew: true}, []string{})
	if l := update(sub, licensing.LicenseUpdate{AutoRenew: ptr(true), Company: ptr("Acme")}); !l.AutoRenew || l.Company == nil {
		t.Errorf("two changes at once: %+v", l)
	}
	// A failing update changes nothing, not even its valid parts.
	_, err = e.svc.UpdateLicense(a, sub, licensing.LicenseUpdate{AllowRM: ptr(true), Company: ptr("Nope")})
	wantCode(t, err, licensing.ENOTFOUND, "update with an unknown company")
	if l := e.license(a, sub); l.AllowRM || l.Company == nil {
		t.Errorf("failed update changed the license: %+v", l)
	}

	_, err = e.svc.UpdateLicense(a, "not-a-key", licensing.LicenseUpdate{AllowRM: ptr(true)})
	wantCode(t, err, licensing.EINVALID, "malformed key")
	_, err = e.svc.UpdateLicense(a, perp, licensing.LicenseUpdate{})
	wantCode(t, err, licensing.EINVALID, "nothing to change")

	evs := e.audit(a, licensing.AuditFilter{Action: "license.update", Object: perp})
	if len(evs) != 3 {
		t.Fatalf("%d license.update events for %s, want 3: %+v", len(evs), perp, evs)
	}
	if !strings.Contains(string(evs[2].Details), "allow_rm") || !actorIs(evs[2].Actor, "a@example.com") {
		t.Errorf("first update event = %+v", evs[2])
	}
}

func testAudit(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	e.clock.Add(time.Minute)
	p := e.buy(a, req(line("backup-desktop", 2)))
	e.clock.Add(time.Minute)
	if _, err := e.svc.UpdateLicense(a, p.Licenses[0], licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}

	evs := e.audit(a, licensing.AuditFilter{})
	var actions []string
	for i, ev := range evs {
		actions = append(actions, ev.Action)
		if i > 0 && ev.ID >= evs[i-1].ID {
			t.Errorf("events not newest first: %+v", evs)
		}
	}
	if !slices.Equal(actions, []string{"license.update", "purchase.create", "company.create", "account.create"}) {
		t.Fatalf("actions = %v", actions)
	}
	if ev := evs[1]; ev.Object != p.ID || !actorIs(ev.Actor, "a@example.com") || !ev.Time.Equal(Start().Add(time.Minute)) ||
		!strings.Contains(string(ev.Details), "licenses") {
		t.Errorf("purchase event = %+v", ev)
	}
	if ev := evs[3]; ev.Object != "a@example.com" {
		t.Errorf("account event = %+v", ev)
	}

	count := func(f licensing.AuditFilter) int { return len(e.audit(a, f)) }
	for what, c := range map[string]struct {
		f    licensing.AuditFilter
		want int
	}{
		"action prefix":        {licensing.AuditFilter{Action: "purchase."}, 1},
		"exact action":         {licensing.AuditFilter{Action: "company.create"}, 1},
		"action is not prefix": {licensing.AuditFilter{Action: "purchase"}, 0},
		"object":               {licensing.AuditFilter{Object: p.ID}, 1},
		"since":                {licensing.AuditFilter{Since: ptr(Start().Add(90 * time.Second))}, 1},
		"limit":                {licensing.AuditFilter{Limit: 2}, 2},
	} {
		if got := count(c.f); got != c.want {
			t.Errorf("%s: %d events, want %d", what, got, c.want)
		}
	}
	_, err := e.svc.ListAudit(a, licensing.AuditFilter{Limit: -1})
	wantCode(t, err, licensing.EINVALID, "negative limit")

	b := e.account("b@example.com")
	if evs := e.audit(b, licensing.AuditFilter{}); len(evs) != 1 || evs[0].Action != "account.create" {
		t.Errorf("b's audit = %+v", evs)
	}
}

// actorIs tells whether an audit actor is the account email: alone for a
// change made on the store host, "EMAIL via api token lct_xxxxxxxx" for one
// made over the API.
func actorIs(actor, email string) bool {
	via, ok := strings.CutPrefix(actor, email)
	return via == "" || ok && regexp.MustCompile(`^ via api token lct_[a-z2-7]{8}$`).MatchString(via)
}
