package contract

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// testEvents: each change writes its events, exactly the right types, in
// order, with the object as the API shows it; another account sees none.
func testEvents(t *testing.T, e *env) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-desktop", 2)))
	key := p.Licenses[0]
	if _, err := e.svc.UpdateLicense(a, key, licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	act := e.activate(a, machine(key, "m1", licensing.OSLinux, "7.5.0"))
	if _, err := e.svc.Deactivate(a, licensing.DeactivateRequest{ID: act.ID}); err != nil {
		t.Fatal(err)
	}
	e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[1]}})
	evs, err := e.svc.ListEvents(a, licensing.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range slices.Backward(evs) {
		types = append(types, ev.Type)
	}
	want := []string{licensing.EventPurchaseCreated, licensing.EventLicenseUpdated, licensing.EventActivationCreated,
		licensing.EventActivationReleased, licensing.EventPurchaseRefunded, licensing.EventLicenseRevoked}
	if !slices.Equal(types, want) {
		t.Fatalf("event types %v, want %v", types, want)
	}
	last := evs[len(evs)-1] // the oldest: the purchase
	var bought licensing.Purchase
	if err := json.Unmarshal(last.Data, &bought); err != nil || bought.ID != p.ID || len(bought.Licenses) != 2 || last.Object != p.ID ||
		last.Account != "a@example.com" {
		t.Fatalf("purchase.created = %+v (%v)", last, err)
	}
	var updated licensing.License
	if err := json.Unmarshal(evs[len(evs)-2].Data, &updated); err != nil || updated.Key != key || !updated.AllowRM {
		t.Fatalf("license.updated = %s (%v)", evs[len(evs)-2].Data, err)
	}
	if got, err := e.svc.ListEvents(a, licensing.EventFilter{Type: "activation."}); err != nil || len(got) != 2 {
		t.Fatalf("--type activation. = %d, %v", len(got), err)
	}
	if got, err := e.svc.ListEvents(a, licensing.EventFilter{Type: licensing.EventLicenseRevoked}); err != nil || len(got) != 1 ||
		got[0].Object != p.Licenses[1] {
		t.Fatalf("--type license.revoked = %+v, %v", got, err)
	}
	if got, err := e.svc.ListEvents(a, licensing.EventFilter{Limit: 2}); err != nil || len(got) != 2 || got[0].ID <= got[1].ID {
		t.Fatalf("--limit 2 = %+v, %v", got, err)
	}
	_, err = e.svc.ListEvents(a, licensing.EventFilter{Type: "DROP TABLE"})
	wantCode(t, err, licensing.EINVALID, "a malformed type")
	b := e.account("b@example.com")
	if got, err := e.svc.ListEvents(b, licensing.EventFilter{}); err != nil || len(got) != 0 {
		t.Fatalf("b's events: %+v, %v", got, err)
	}
}
