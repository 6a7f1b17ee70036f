package postgres

import (
	"context"
	"testing"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Two replicas run the renewals engine at the same moment, month after
// month: every period is renewed (and charged) once, every end recorded
// once, and together they do exactly what one engine would have done.
func TestRaceRenewals(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := context.Background()
	var (
		monthly, annual, lifetime []string
		trial                     string
	)
	for _, email := range []string{"a@example.com", "b@example.com"} {
		a := newAccount(t, s1, email)
		buy := func(req licensing.BuyRequest) []string {
			p, err := services(s1).Buy(a, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			return p.Licenses
		}
		monthly = append(monthly, buy(licensing.BuyRequest{Lines: []licensing.BuyLine{
			{Product: "mbs-server", Quantity: 3, Billing: licensing.BillingMonthly}}})...)
		annual = append(annual, buy(licensing.BuyRequest{Lines: []licensing.BuyLine{
			{Product: "mbs-desktop", Quantity: 2, Billing: licensing.BillingAnnual}}})...)
		keys := buy(licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 3}}})
		lifetime = append(lifetime, keys...)
		trial = buy(licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 1}}, Trial: true})[0]
		if _, err := services(s1).BuyMaintenance(a, licensing.MaintenanceBuyRequest{All: true}, nil); err != nil {
			t.Fatal(err)
		}
		// One plan that ends rather than renews.
		if _, err := services(s1).BuyMaintenance(a, licensing.MaintenanceBuyRequest{Key: keys[0], NoAutoRenew: true}, nil); err != nil {
			t.Fatal(err)
		}
	}

	const months = 26
	var renewed, expired, purchases int
	var cents int64
	clock := s1.clock.(*contract.Clock) // both pools tell the same time
	for m := 1; m <= months; m++ {
		asOf := contract.Start().AddDate(0, m, 0)
		clock.Set(asOf) // a run never goes past now
		var r1, r2 *licensing.RenewalRun
		err1, err2 := race(
			func() (err error) { r1, err = services(s1).RunRenewals(ctx, asOf); return err },
			func() (err error) { r2, err = services(s2).RunRenewals(ctx, asOf); return err })
		if err1 != nil || err2 != nil {
			t.Fatalf("month %d: %v / %v", m, err1, err2)
		}
		for _, r := range []*licensing.RenewalRun{r1, r2} {
			renewed += r.Renewed
			expired += r.Expired
			purchases += len(r.Purchases)
			cents += r.TotalCents
		}
		// Whatever one run did, the other found done.
		if (r1.Renewed+r1.Expired > 0) && (r2.Renewed+r2.Expired > 0) {
			t.Fatalf("month %d: both runs worked: %d+%d and %d+%d", m, r1.Renewed, r1.Expired, r2.Renewed, r2.Expired)
		}
	}

	// Monthly subscriptions renew each month, annual ones each year. Plans
	// renew each year, but those of the first license: its first plan hands
	// renewal to the second and ends, and the second ends too (auto-renew off).
	wantSub := len(monthly)*months + len(annual)*(months/12)
	wantPlans := (len(lifetime) - 2) * (months / 12)
	if n := count(t, s1, "SELECT count(*) FROM renewals WHERE kind = 'subscription' AND outcome = 'renewed'"); n != wantSub {
		t.Errorf("%d subscription renewals, want %d", n, wantSub)
	}
	if n := count(t, s1, "SELECT count(*) FROM renewals WHERE kind = 'maintenance' AND outcome = 'renewed'"); n != wantPlans {
		t.Errorf("%d maintenance renewals, want %d", n, wantPlans)
	}
	if n := count(t, s1, "SELECT count(*) FROM renewals WHERE outcome = 'renewed'"); n != renewed {
		t.Errorf("%d renewals recorded, the runs reported %d", n, renewed)
	}
	if n := count(t, s1, "SELECT count(*) FROM renewals WHERE outcome = 'expired'"); n != expired || n != 2*2+2 {
		t.Errorf("%d ends recorded, the runs reported %d, want 6 (per account: the trial, two plans of one license)", n, expired)
	}
	if n := count(t, s1, "SELECT count(*) FROM renewals WHERE kind = 'trial' AND object = $1", trial); n != 1 {
		t.Errorf("the trial ended %d times", n)
	}
	if n := count(t, s1, "SELECT count(*) FROM purchases WHERE idempotency_key LIKE 'renewal-%'"); n != purchases {
		t.Errorf("%d renewal purchases, the runs reported %d", n, purchases)
	}
	if n := count(t, s1, "SELECT count(*) FROM audit WHERE action = 'renewal.renew'"); n != renewed {
		t.Errorf("%d renewal.renew events, want %d", n, renewed)
	}
	// Each charge matches the periods it pays for.
	if n := count(t, s1, `SELECT count(*) FROM purchases p WHERE p.idempotency_key LIKE 'renewal-%'
		AND p.total_cents <> (SELECT sum(r.price_cents) FROM renewals r WHERE r.purchase_id = p.id)`); n != 0 {
		t.Errorf("%d renewal purchases charge other than their renewals", n)
	}
	if n := count(t, s1, "SELECT coalesce(sum(total_cents), 0)::int FROM purchases WHERE idempotency_key LIKE 'renewal-%'"); int64(n) != cents {
		t.Errorf("renewal purchases total %d cents, the runs reported %d", n, cents)
	}
	// End dates moved once per renewed period.
	last := contract.Start().AddDate(0, months, 0)
	if n := count(t, s1, "SELECT count(*) FROM licenses WHERE term = 'monthly' AND expires_at <> $1", last.AddDate(0, 1, 0).Unix()); n != 0 {
		t.Errorf("%d monthly subscriptions end elsewhere than a month after the last run", n)
	}
	if n := count(t, s1, `SELECT count(*) FROM licenses l WHERE l.maintenance_till IS DISTINCT FROM
		(SELECT max(ends_at) FROM maintenance_plans m WHERE m.license_id = l.id)`); n != 0 {
		t.Errorf("%d licenses whose maintenance_till is not their latest plan's end", n)
	}
	// A run after both finds nothing left.
	r, err := services(s2).RunRenewals(ctx, last)
	if err != nil || r.Renewed+r.Expired != 0 {
		t.Errorf("a third run renewed %d and expired %d, %v", r.Renewed, r.Expired, err)
	}
}

// Replicas buying maintenance for one license at once stack the plans as a
// single writer would; with one idempotency key they make one purchase.
func TestRaceMaintenanceBuy(t *testing.T) {
	s1, s2 := twoPools(t)
	a := newAccount(t, s1, "a@example.com")
	p, err := services(s1).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 5}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range p.Licenses {
		req := licensing.MaintenanceBuyRequest{Key: key}
		if i%2 == 1 {
			req.IdempotencyKey = "m-" + key
		}
		var m1, m2 *licensing.MaintenancePurchase
		err1, err2 := race(
			func() (err error) { m1, err = services(s1).BuyMaintenance(a, req, nil); return err },
			func() (err error) { m2, err = services(s2).BuyMaintenance(a, req, nil); return err })
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", key, err1, err2)
		}
		plans, err := services(s1).ListMaintenance(a, licensing.MaintenanceFilter{License: key})
		if err != nil {
			t.Fatal(err)
		}
		if req.IdempotencyKey != "" {
			if m1.ID != m2.ID || m1.Replayed == m2.Replayed || len(plans) != 1 {
				t.Fatalf("%s with one key: purchases %s/%s, %d plans", key, m1.ID, m2.ID, len(plans))
			}
			continue
		}
		start := contract.Start()
		if m1.ID == m2.ID || len(plans) != 2 || !plans[0].EndsAt.Equal(*plans[1].StartsAt) ||
			!plans[1].EndsAt.Equal(start.AddDate(2, 0, 0)) || plans[0].AutoRenew || !plans[1].AutoRenew {
			t.Fatalf("%s: plans %+v", key, plans)
		}
		l, err := services(s1).GetLicense(a, key)
		if err != nil || !l.MaintenanceTill.Equal(start.AddDate(2, 0, 0)) {
			t.Fatalf("%s: maintenance till %v, %v", key, l.MaintenanceTill, err)
		}
	}
}

// An available plan assigned to two licenses at once goes to one of them.
func TestRaceMaintenanceAssign(t *testing.T) {
	s1, s2 := twoPools(t)
	a := newAccount(t, s1, "a@example.com")
	p, err := services(s1).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 20}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := services(s1).BuyMaintenance(a, licensing.MaintenanceBuyRequest{Unassigned: true, Product: "backup-server", Quantity: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, plan := range m.Plans {
		k1, k2 := p.Licenses[2*i], p.Licenses[2*i+1]
		err1, err2 := race(
			func() error { _, err := services(s1).AssignMaintenance(a, plan.ID, k1); return err },
			func() error { _, err := services(s2).AssignMaintenance(a, plan.ID, k2); return err })
		if (err1 == nil) == (err2 == nil) {
			t.Fatalf("plan %s: want one assignment, got %v / %v", plan.ID, err1, err2)
		}
		if code := licensing.ErrorCode(firstErr(err1, err2)); code != licensing.ECONFLICT {
			t.Fatalf("plan %s: loser got %s, want ECONFLICT", plan.ID, code)
		}
		if n := count(t, s1, "SELECT count(*) FROM licenses WHERE key IN ($1, $2) AND maintenance_till IS NOT NULL", k1, k2); n != 1 {
			t.Fatalf("plan %s covers %d licenses", plan.ID, n)
		}
	}
	if n := count(t, s1, "SELECT count(*) FROM audit WHERE action = 'maintenance.assign'"); n != len(m.Plans) {
		t.Errorf("%d maintenance.assign events, want %d", n, len(m.Plans))
	}
}
