package sqlite

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/paymenttest"
)

// mailbox is a licensing.Mailer that keeps what it is sent.
type mailbox struct {
	mu   sync.Mutex
	sent []licensing.Mail
}

func (m *mailbox) Send(_ context.Context, msg licensing.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

func (m *mailbox) take() []licensing.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sent
	m.sent = nil
	return out
}

// The renewals engine mails each account its reminders after it commits,
// once per notice, and not those the account turned off; the failed renewal
// charge's mail obeys its switch too.
func TestReminderMails(t *testing.T) {
	clock := contract.NewClock(contract.Start())
	box := &mailbox{}
	pay := paymenttest.New(contract.WebhookSecret)
	svc := app.New(openStore(t, clock), app.Options{Clock: clock, Mailer: box, Payments: pay})
	ctx := context.Background()
	if _, err := svc.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := p.Licenses[0]
	mp, err := svc.BuyMaintenance(a, licensing.MaintenanceBuyRequest{Key: key, NoAutoRenew: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := *mp.Plans[0].EndsAt
	if _, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-desktop", Quantity: 1,
		Billing: licensing.BillingMonthly}}}, nil); err != nil {
		t.Fatal(err)
	}
	box.take() // the receipts
	run := func(at time.Time) {
		t.Helper()
		clock.Set(at)
		if _, err := svc.RunRenewals(a, at); err != nil {
			t.Fatal(err)
		}
	}

	// The subscription's first renewal is declined: one mail, with what to run.
	pay.Answer(app.ChargeDeclined)
	run(contract.Start().AddDate(0, 1, 0))
	mails := box.take()
	if len(mails) != 1 || mails[0].To != "a@example.com" || !strings.Contains(mails[0].Body, "licensectl billing setup") {
		t.Fatalf("declined renewal mails: %+v", mails)
	}
	// Turned off: the next declined charge is recorded, not mailed.
	off := false
	if _, err := svc.SetNotifications(a, licensing.NotificationUpdate{RenewalFailed: &off}); err != nil {
		t.Fatal(err)
	}
	pay.Answer(app.ChargeDeclined)
	run(contract.Start().AddDate(0, 1, 0).Add(time.Hour))
	if mails := box.take(); len(mails) != 0 {
		t.Fatalf("renewal_failed off, yet mailed: %+v", mails)
	}
	if evs, err := svc.ListEvents(a, licensing.EventFilter{Type: licensing.EventSubscriptionRenewalFailed}); err != nil || len(evs) != 2 {
		t.Fatalf("renewal_failed events: %d, %v", len(evs), err)
	}

	// 20 days before the plan ends: one reminder naming the key and the
	// command, however often the engine runs.
	for range 2 {
		pay.Answer(app.ChargeDeclined, app.ChargeDeclined)
		run(end.Add(-20 * 24 * time.Hour))
	}
	var reminders []licensing.Mail
	for _, m := range box.take() {
		if strings.HasPrefix(m.Subject, "Maintenance of") {
			reminders = append(reminders, m)
		}
	}
	if len(reminders) != 1 || reminders[0].Subject != "Maintenance of "+key+" ends on "+end.Format(time.DateOnly) ||
		!strings.Contains(reminders[0].Body, "licensectl maintenance buy "+key) {
		t.Fatalf("maintenance reminders: %+v", reminders)
	}
	// Off: the 7-day notice is written, not mailed.
	if _, err := svc.SetNotifications(a, licensing.NotificationUpdate{MaintenanceExpiring: &off}); err != nil {
		t.Fatal(err)
	}
	pay.Answer(app.ChargeDeclined, app.ChargeDeclined)
	run(end.Add(-5 * 24 * time.Hour))
	for _, m := range box.take() {
		if strings.HasPrefix(m.Subject, "Maintenance of") {
			t.Errorf("maintenance_expiring off, yet mailed: %+v", m)
		}
	}
	if evs, err := svc.ListEvents(a, licensing.EventFilter{Type: licensing.EventMaintenanceExpiring}); err != nil || len(evs) != 2 {
		t.Fatalf("maintenance.expiring events: %d, %v", len(evs), err)
	}
}
