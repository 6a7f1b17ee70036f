package contract

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// eventsOf lists an account's events of one type, newest first.
func (e *env) eventsOf(ctx context.Context, typ string) []licensing.Event {
	e.t.Helper()
	evs, err := e.svc.ListEvents(ctx, licensing.EventFilter{Type: typ, Limit: 1000})
	if err != nil {
		e.t.Fatalf("ListEvents(%s): %v", typ, err)
	}
	return evs
}

// countEvents says how many events of each type about object there are.
func (e *env) countEvents(ctx context.Context, typ, object string) int {
	e.t.Helper()
	n := 0
	for _, ev := range e.eventsOf(ctx, typ) {
		if ev.Object == object {
			n++
		}
	}
	return n
}

const day = 24 * time.Hour

// testScheduledEvents: the renewals engine writes trial.ending 3 days
// before a trial ends, maintenance.expiring 30 and 7 days before a plan
// ends and maintenance.expired after an end that was not renewed - each
// once per object and date, however often it runs.
func testScheduledEvents(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	server := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	ending := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: server, NoAutoRenew: true}).Plans[0]
	desk := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	renewing := e.buyMaintenance(a, forKey(desk)).Plans[0]
	trial := e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("mbs-vm", 1)}, Trial: true}).Licenses[0]
	trialEnd := *e.license(a, trial).ExpiresAt
	end := *ending.EndsAt

	e.runRenewals(a, trialEnd.Add(-4*day))
	if n := e.countEvents(a, licensing.EventTrialEnding, trial); n != 0 {
		t.Fatalf("4 days before the trial ends: %d trial.ending", n)
	}
	for range 2 {
		e.runRenewals(a, trialEnd.Add(-2*day))
	}
	evs := e.eventsOf(a, licensing.EventTrialEnding)
	if len(evs) != 1 || evs[0].Object != trial || evs[0].Account != "a@example.com" {
		t.Fatalf("trial.ending = %+v", evs)
	}
	var l licensing.License
	if err := json.Unmarshal(evs[0].Data, &l); err != nil || l.Key != trial || l.Kind != licensing.KindTrial || !sameTime(l.ExpiresAt, trialEnd) {
		t.Errorf("trial.ending data = %s (%v)", evs[0].Data, err)
	}

	// 26 days before the plans end: the 30-day notice of each, once.
	for range 2 {
		e.runRenewals(a, end.Add(-26*day))
	}
	for _, id := range []string{ending.ID, renewing.ID} {
		if n := e.countEvents(a, licensing.EventMaintenanceExpiring, id); n != 1 {
			t.Errorf("%s: %d maintenance.expiring 26 days before its end, want 1", id, n)
		}
	}
	evs = e.eventsOf(a, licensing.EventMaintenanceExpiring)
	var plan licensing.MaintenancePlan
	if err := json.Unmarshal(evs[0].Data, &plan); err != nil || plan.Status != licensing.MaintenanceActive || !sameTime(plan.EndsAt, end) ||
		plan.LicenseKey == nil || (*plan.LicenseKey != server && *plan.LicenseKey != desk) {
		t.Errorf("maintenance.expiring data = %s (%v)", evs[0].Data, err)
	}
	// 5 days before: the 7-day notice.
	e.runRenewals(a, end.Add(-5*day))
	e.runRenewals(a, end.Add(-5*day+time.Hour))
	if n := e.countEvents(a, licensing.EventMaintenanceExpiring, ending.ID); n != 2 {
		t.Errorf("%d maintenance.expiring 5 days before the end, want 2", n)
	}
	// After the end: the plan without auto-renew expired (once); the other
	// renewed, and expires no more.
	for range 2 {
		e.runRenewals(a, end.Add(day))
	}
	evs = e.eventsOf(a, licensing.EventMaintenanceExpired)
	if len(evs) != 1 || evs[0].Object != ending.ID {
		t.Fatalf("maintenance.expired = %+v", evs)
	}
	if err := json.Unmarshal(evs[0].Data, &plan); err != nil || plan.ID != ending.ID || plan.Status != licensing.MaintenanceExpired {
		t.Errorf("maintenance.expired data = %s (%v)", evs[0].Data, err)
	}
	// The renewed plan's new end has notices of its own.
	e.runRenewals(a, end.AddDate(1, 0, 0).Add(-20*day))
	if n := e.countEvents(a, licensing.EventMaintenanceExpiring, renewing.ID); n != 3 {
		t.Errorf("renewed plan: %d maintenance.expiring, want 3 (2 before its first end, 1 before its second)", n)
	}
	if n := e.countEvents(a, licensing.EventMaintenanceExpiring, ending.ID); n != 2 {
		t.Errorf("ended plan: %d maintenance.expiring, want 2", n)
	}
	if n := e.countEvents(a, licensing.EventTrialEnding, trial); n != 1 {
		t.Errorf("%d trial.ending in all, want 1", n)
	}
	if got := e.eventsOf(b, ""); len(got) != 0 {
		t.Errorf("b's events: %+v", got)
	}
}

// testScheduledCatchUp: a run after a gap writes each notice that fell due
// once - not one per missed day - and none for what ended meanwhile; a
// plan that a later one follows gets none.
func testScheduledCatchUp(t *testing.T, e *env) {
	a := e.account("a@example.com")
	k1 := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	p1 := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: k1, NoAutoRenew: true}).Plans[0]
	k2 := e.buy(a, req(line("backup-desktop", 1))).Licenses[0]
	stacked := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: k2, NoAutoRenew: true}).Plans[0]
	next := e.buyMaintenance(a, licensing.MaintenanceBuyRequest{Key: k2, NoAutoRenew: true}).Plans[0]
	end := *p1.EndsAt

	// Nothing ran for eleven months: both windows of p1 passed.
	e.runRenewals(a, end.Add(-3*day))
	e.runRenewals(a, end.Add(-2*day))
	evs := e.eventsOf(a, licensing.EventMaintenanceExpiring)
	if len(evs) != 2 || evs[0].Object != p1.ID || evs[1].Object != p1.ID {
		t.Fatalf("after the gap: %+v", evs)
	}
	if n := e.countEvents(a, licensing.EventMaintenanceExpiring, stacked.ID); n != 0 {
		t.Errorf("a plan that a later one follows: %d maintenance.expiring", n)
	}
	// Past the second plan's end at once: it expires, with no expiring
	// notice for an end that is past.
	e.runRenewals(a, next.EndsAt.Add(day))
	if n := e.countEvents(a, licensing.EventMaintenanceExpiring, next.ID); n != 0 {
		t.Errorf("ended plan: %d maintenance.expiring", n)
	}
	if n := e.countEvents(a, licensing.EventMaintenanceExpired, next.ID); n != 1 {
		t.Errorf("ended plan: %d maintenance.expired, want 1", n)
	}
	if n := e.countEvents(a, licensing.EventMaintenanceExpired, stacked.ID); n != 0 {
		t.Errorf("a plan another took over from: %d maintenance.expired", n)
	}
	if n := e.countEvents(a, licensing.EventMaintenanceExpired, p1.ID); n != 1 {
		t.Errorf("p1: %d maintenance.expired, want 1", n)
	}
}

// testNotifications: every reminder is on until set; set changes only what
// it names, for the acting account only; an empty change is refused.
func testNotifications(t *testing.T, e *env) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	s, err := e.svc.Notifications(a)
	if err != nil {
		t.Fatal(err)
	}
	if *s != licensing.DefaultNotifications("a@example.com") {
		t.Fatalf("default = %+v", s)
	}
	off := false
	s, err = e.svc.SetNotifications(a, licensing.NotificationUpdate{MaintenanceExpiring: &off})
	if err != nil {
		t.Fatal(err)
	}
	if s.MaintenanceExpiring || !s.TrialEnding || !s.RenewalFailed || !sameTime(s.UpdatedAt, Start()) || s.Account != "a@example.com" {
		t.Fatalf("after set = %+v", s)
	}
	e.clock.Add(time.Hour)
	s, err = e.svc.SetNotifications(a, licensing.NotificationUpdate{RenewalFailed: &off})
	if err != nil || s.MaintenanceExpiring || s.RenewalFailed || !s.TrialEnding || !sameTime(s.UpdatedAt, Start().Add(time.Hour)) {
		t.Fatalf("second set = %+v, %v", s, err)
	}
	if got, err := e.svc.Notifications(a); err != nil || string(mustJSON(t, got)) != string(mustJSON(t, s)) {
		t.Errorf("show = %+v, %v; want %+v", got, err, s)
	}
	if got, err := e.svc.Notifications(b); err != nil || *got != licensing.DefaultNotifications("b@example.com") {
		t.Errorf("b = %+v, %v", got, err)
	}
	_, err = e.svc.SetNotifications(a, licensing.NotificationUpdate{})
	wantCode(t, err, licensing.EINVALID, "an empty change")
	_, err = e.svc.Notifications(context.Background())
	wantCode(t, err, licensing.EUNAUTHORIZED, "no account")
}
