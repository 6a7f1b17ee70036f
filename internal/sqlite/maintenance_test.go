package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// A bulk maintenance purchase cancelled half-way leaves no purchase, no plan,
// no maintenance date and no audit event; run again, it buys every plan in one
// purchase.
func TestBulkMaintenanceIsOneTransaction(t *testing.T) {
	s := openStore(t, contract.NewClock(contract.Start()))
	a := actingAs(t, s, "a@example.com")
	if _, err := services(s).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 5000}}}, nil); err != nil {
		t.Fatal(err)
	}
	purchases := countRows(t, s, "purchases")
	all := licensing.MaintenanceBuyRequest{All: true}
	ctx, cancel := context.WithCancel(a)
	_, err := services(s).BuyMaintenance(ctx, all, func(done int) {
		if done == 3000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled BuyMaintenance = %v", err)
	}
	if n := countRows(t, s, "maintenance_plans"); n != 0 {
		t.Errorf("cancelled purchase left %d plans", n)
	}
	if n := countRows(t, s, "purchases"); n != purchases {
		t.Errorf("cancelled purchase left %d purchases", n-purchases)
	}
	var covered int
	s.r.QueryRow("SELECT count(*) FROM licenses WHERE maintenance_till IS NOT NULL").Scan(&covered)
	if covered != 0 {
		t.Errorf("cancelled purchase covered %d licenses", covered)
	}
	if evs, _ := services(s).ListAudit(a, licensing.AuditFilter{Action: "maintenance."}); len(evs) != 0 {
		t.Errorf("cancelled purchase left audit events: %+v", evs)
	}

	p, err := services(s).BuyMaintenance(a, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != 5000 || p.TotalCents != 5000*2400 || countRows(t, s, "maintenance_plans") != 5000 ||
		countRows(t, s, "purchases") != purchases+1 {
		t.Errorf("bulk purchase: %d plans for %d cents", p.Count, p.TotalCents)
	}
	s.r.QueryRow("SELECT count(*) FROM licenses WHERE maintenance_till = ?", contract.Start().AddDate(1, 0, 0).Unix()).Scan(&covered)
	if covered != 5000 {
		t.Errorf("%d licenses covered till a year from now", covered)
	}
}

// A renewals run that fails half-way (here: cancelled) changes nothing, so
// the next run finds the same work.
func TestRenewalsRunIsOneTransaction(t *testing.T) {
	clock := contract.NewClock(contract.Start())
	s := openStore(t, clock)
	a := actingAs(t, s, "a@example.com")
	if _, err := services(s).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 200, Billing: licensing.BillingMonthly}}}, nil); err != nil {
		t.Fatal(err)
	}
	asOf := contract.Start().AddDate(0, 3, 0)
	clock.Set(asOf) // a run never goes past now
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := services(s).RunRenewals(ctx, asOf); err == nil {
		t.Fatal("cancelled run succeeded")
	}
	if n := countRows(t, s, "renewals"); n != 0 {
		t.Errorf("cancelled run left %d renewals", n)
	}
	due, err := services(s).DueRenewals(context.Background(), asOf)
	if err != nil || len(due) != 600 {
		t.Fatalf("due after a cancelled run: %d, %v", len(due), err)
	}
	run, err := services(s).RunRenewals(context.Background(), asOf)
	if err != nil || run.Renewed != 600 || run.TotalCents != 600*999 || len(run.Purchases) != 1 {
		t.Fatalf("run = %d renewed for %d (%v), %v", run.Renewed, run.TotalCents, run.Purchases, err)
	}
	var expires int64
	s.r.QueryRow("SELECT min(expires_at) FROM licenses").Scan(&expires)
	if want := contract.Start().AddDate(0, 4, 0); expires != want.Unix() {
		t.Errorf("renewed subscriptions expire %v, want %v", time.Unix(expires, 0).UTC(), want)
	}
}
