package contract

import (
	"encoding/json"
	"slices"
	"strings"
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
	want := []string{licensing.EventPurchaseCreated, licensing.EventLicenseCreated, licensing.EventLicenseCreated,
		licensing.EventLicenseUpdated, licensing.EventActivationCreated,
		licensing.EventActivationReleased, licensing.EventPurchaseRefunded, licensing.EventLicenseRevoked}
	if !slices.Equal(types, want) {
		t.Fatalf("event types %v, want %v", types, want)
	}
	// license.created: one per license, each the license as the API shows it.
	for i, ev := range []licensing.Event{evs[len(evs)-2], evs[len(evs)-3]} {
		var l licensing.License
		if err := json.Unmarshal(ev.Data, &l); err != nil || ev.Object != p.Licenses[i] || l.Key != p.Licenses[i] ||
			l.Product != "backup-desktop" || l.PurchaseID != p.ID || l.Status != licensing.StatusNotActivated ||
			l.Validity != licensing.ValidityValid || l.Maintenance != licensing.MaintenanceNone || l.Seats != 1 ||
			!l.CreatedAt.Equal(Start()) || ev.Account != "a@example.com" {
			t.Fatalf("license.created %d = %+v: %s (%v)", i, ev, ev.Data, err)
		}
		if i == 1 {
			continue // refunded since: not shown any more
		}
		shown := e.license(a, p.Licenses[i])
		shown.AllowRM = false // changed since
		if got, _ := json.Marshal(l); string(got) != string(mustJSON(t, shown)) {
			t.Errorf("license.created data\n%s\nwant the license as shown\n%s", got, mustJSON(t, shown))
		}
	}
	last := evs[len(evs)-1] // the oldest: the purchase
	var bought licensing.Purchase
	if err := json.Unmarshal(last.Data, &bought); err != nil || bought.ID != p.ID || len(bought.Licenses) != 2 || last.Object != p.ID ||
		last.Account != "a@example.com" {
		t.Fatalf("purchase.created = %+v (%v)", last, err)
	}
	var updated licensing.License
	if err := json.Unmarshal(evs[len(evs)-4].Data, &updated); err != nil || updated.Key != key || !updated.AllowRM {
		t.Fatalf("license.updated = %s (%v)", evs[len(evs)-4].Data, err)
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

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// testLicenseCreatedInBulk: a purchase of many licenses writes one
// license.created per license, in the purchase's order, in its company.
func testLicenseCreatedInBulk(t *testing.T, e *env) {
	a := e.account("a@example.com")
	e.company(a, "Acme")
	r := req(line("mbs-server", 450))
	r.Lines[0].Company = "acme"
	r.Lines[0].Billing = licensing.BillingAnnual
	p := e.buy(a, r)
	evs, err := e.svc.ListEvents(a, licensing.EventFilter{Type: licensing.EventLicenseCreated, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 450 {
		t.Fatalf("%d license.created events, want 450", len(evs))
	}
	for i, ev := range slices.Backward(evs) {
		var l licensing.License
		if err := json.Unmarshal(ev.Data, &l); err != nil || l.Key != p.Licenses[449-i] || ev.Object != l.Key ||
			l.Company == nil || *l.Company != "Acme" || l.Term != licensing.LicenseTermAnnual || !sameTime(l.ExpiresAt, Start().AddDate(1, 0, 0)) {
			t.Fatalf("event %d: %s (%v)", i, ev.Data, err)
		}
	}
}

// testAttachEvents: step 1 writes attach.requested, step 2 attach.completed,
// each in the account that attaches.
func testAttachEvents(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 2)
	b := e.account("b@example.com")
	code := a.code(b, byPurchase(p.ID))
	if _, err := a.svc.ConfirmAttach(b, code); err != nil {
		t.Fatal(err)
	}
	evs, err := e.svc.ListEvents(b, licensing.EventFilter{Type: "attach."})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].Type != licensing.EventAttachRequested || evs[0].Type != licensing.EventAttachCompleted ||
		evs[0].Object != p.ID || evs[1].Object != p.ID {
		t.Fatalf("attach events = %+v", evs)
	}
	var pending licensing.AttachPending
	if err := json.Unmarshal(evs[1].Data, &pending); err != nil || pending.PurchaseID != p.ID || pending.Licenses != 2 ||
		pending.SentTo != "j***@example.com" {
		t.Errorf("attach.requested data = %s (%v)", evs[1].Data, err)
	}
	var done licensing.AttachResult
	if err := json.Unmarshal(evs[0].Data, &done); err != nil || done.Account != "b@example.com" || len(done.Licenses) != 2 {
		t.Errorf("attach.completed data = %s (%v)", evs[0].Data, err)
	}
	if strings.Contains(string(evs[1].Data), code) {
		t.Errorf("attach.requested holds the code: %s", evs[1].Data)
	}
}
