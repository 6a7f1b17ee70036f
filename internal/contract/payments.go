package contract

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/paymenttest"
)

// Paid is a backend whose use cases charge through a payment provider.
type Paid struct {
	Services licensing.Services
	// Deliver hands a provider's webhook to the backend: its
	// HandlePaymentEvent, or over HTTP the server's POST /v1/webhooks/stripe.
	Deliver func(payload []byte, signature string) error
	// Operator is the backend as the vendor (ReconcilePayments): the same
	// services locally, an operator's client over HTTP.
	Operator licensing.Services
}

// PaymentsOpener opens a fresh backend like Opener, with pay as its
// payment provider.
type PaymentsOpener func(t *testing.T, clock licensing.Clock, pay *paymenttest.Double) Paid

// WebhookSecret signs the doubles' webhooks.
const WebhookSecret = "whsec_contract"

// RunPayments runs the suite of purchases, refunds and webhooks through a
// payment provider: a test double at the provider interface
// (paymenttest.Double), since stripe-mock cannot decline a card, hold a
// payment for its holder or send a webhook.
func RunPayments(t *testing.T, open PaymentsOpener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *payEnv)
	}{
		{"PaidBuy", testPaidBuy},
		{"Declined", testDeclined},
		{"PendingThenWebhook", testPendingThenWebhook},
		{"PendingThenFailed", testPendingThenFailed},
		{"CrashBetweenChargeAndCommit", testCrashBetweenChargeAndCommit},
		{"PaidRefunds", testPaidRefunds},
		{"Reconcile", testReconcile},
		{"PaidMaintenance", testPaidMaintenance},
		{"PaidRenewalsAndPastDue", testPaidRenewals},
		{"ProviderMoneyInvariants", testProviderMoneyInvariants},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Start())
			pay := paymenttest.New(WebhookSecret)
			p := open(t, clock, pay)
			tc.fn(t, &payEnv{env: env{t: t, svc: p.Services, clock: clock}, pay: pay, Paid: p})
		})
	}
}

type payEnv struct {
	env
	Paid
	pay *paymenttest.Double
}

func testPaidBuy(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	p, err := e.svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-server", 2)}, IdempotencyKey: "order-1"}, nil)
	if err != nil || p.PaymentStatus != licensing.PaymentPaid || p.PaymentRef == "" || p.ReceiptURL == nil || len(p.Licenses) != 2 {
		t.Fatalf("paid purchase = %+v, %v", p, err)
	}
	if n := e.pay.Count(); n != 1 || e.pay.Net("a@example.com", "USD") != 23998 {
		t.Fatalf("the provider took %d charges, %d net", n, e.pay.Net("a@example.com", "USD"))
	}
	again, err := e.svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-server", 2)}, IdempotencyKey: "order-1"}, nil)
	if err != nil || !again.Replayed || again.ID != p.ID || e.pay.Count() != 1 {
		t.Fatalf("replay = %+v, %v; %d charges", again, err, e.pay.Count())
	}
	// Trials cost nothing: no charge.
	e.buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{line("mbs-vm", 1)}, Trial: true})
	if e.pay.Count() != 1 {
		t.Errorf("a trial was charged")
	}
	if b, err := e.svc.ShowBilling(a); err != nil || b.Customer == "" || b.Method == nil || b.SetupURL != "" {
		t.Errorf("ShowBilling = %+v, %v", b, err)
	}
	if b, err := e.svc.SetupBilling(a); err != nil || b.SetupURL == "" {
		t.Errorf("SetupBilling = %+v, %v", b, err)
	}
}

func testDeclined(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	before := e.state(a)
	e.pay.Answer(app.ChargeDeclined)
	_, err := e.svc.Buy(a, req(line("backup-server", 3)), nil)
	wantCode(t, err, licensing.ECONFLICT, "a declined card")
	if after := e.state(a); after != before {
		t.Fatalf("a declined purchase changed %+v -> %+v", before, after)
	}
	if rows := e.purchases(a, licensing.PurchaseFilter{}); len(rows) != 0 {
		t.Fatalf("purchases after a decline: %+v", rows)
	}
	// The next card works.
	if p := e.buy(a, req(line("backup-server", 1))); p.PaymentStatus != licensing.PaymentPaid {
		t.Fatalf("after the decline: %+v", p)
	}
}

func testPendingThenWebhook(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	e.pay.Answer(app.ChargePending)
	p := e.buy(a, req(line("backup-server", 2)))
	if p.PaymentStatus != licensing.PaymentPending || p.PaymentURL == "" || len(p.Licenses) != 0 || p.ID == "" {
		t.Fatalf("pending purchase = %+v", p)
	}
	if keys := e.keys(a, licensing.LicenseFilter{}); len(keys) != 0 {
		t.Fatalf("licenses before the payment completed: %v", keys)
	}
	payload, sig := e.pay.Complete(p.PaymentRef, true)
	err := e.Deliver(payload, sig+"00")
	wantCode(t, err, licensing.EUNAUTHORIZED, "a webhook with a wrong signature")
	if err := e.Deliver(payload, sig); err != nil {
		t.Fatalf("webhook: %v", err)
	}
	if err := e.Deliver(payload, sig); err != nil { // the provider sends it again
		t.Fatalf("webhook again: %v", err)
	}
	d := e.purchase(a, p.ID)
	if d.PaymentStatus != licensing.PaymentPaid || len(d.Licenses) != 2 {
		t.Fatalf("after the webhook: %+v", d)
	}
	if keys := e.keys(a, licensing.LicenseFilter{}); len(keys) != 2 {
		t.Fatalf("licenses after the webhook (twice): %v", keys)
	}
	// A webhook about a payment no purchase records is refused (the
	// provider sends it again later).
	other, osig := e.pay.Complete("pi_unknown", true)
	wantCode(t, e.Deliver(other, osig), licensing.ENOTFOUND, "a webhook for an unknown payment")
}

func testPendingThenFailed(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	e.pay.Answer(app.ChargePending)
	p := e.buy(a, req(line("backup-desktop", 1)))
	payload, sig := e.pay.Complete(p.PaymentRef, false)
	if err := e.Deliver(payload, sig); err != nil {
		t.Fatal(err)
	}
	if d := e.purchase(a, p.ID); d.PaymentStatus != licensing.PaymentFailed || len(d.Licenses) != 0 {
		t.Fatalf("after a failed payment: %+v", d)
	}
	if keys := e.keys(a, licensing.LicenseFilter{}); len(keys) != 0 {
		t.Fatalf("licenses of a failed payment: %v", keys)
	}
}

// crash is what OnCharge panics with: the process dies between the charge
// and the commit.
type crash struct{}

func testCrashBetweenChargeAndCommit(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	r := licensing.BuyRequest{Lines: []licensing.BuyLine{line("backup-server", 3)}, IdempotencyKey: "crash-1"}
	e.pay.OnCharge = func(app.Charge) {
		e.pay.OnCharge = nil
		panic(crash{})
	}
	func() {
		defer func() {
			if v := recover(); v != nil && v != (crash{}) {
				panic(v)
			}
		}()
		e.svc.Buy(a, r, nil) // over HTTP the server dies in its handler: an error here
	}()
	if e.pay.Count() != 1 {
		t.Fatalf("%d charges after the crash, want 1", e.pay.Count())
	}
	// The retry with the same key finds the same charge and commits once.
	p, err := e.svc.Buy(a, r, nil)
	if err != nil || len(p.Licenses) != 3 {
		t.Fatalf("retry = %+v, %v", p, err)
	}
	if again, err := e.svc.Buy(a, r, nil); err != nil || !again.Replayed || again.ID != p.ID {
		t.Fatalf("another retry = %+v, %v", again, err)
	}
	if n, net := e.pay.Count(), e.pay.Net("a@example.com", "USD"); n != 1 || net != 3*11999 {
		t.Fatalf("the provider took %d charges, %d net; want 1 of %d", n, net, 3*11999)
	}
	if rows := e.purchases(a, licensing.PurchaseFilter{}); len(rows) != 1 || rows[0].PaymentRef != p.PaymentRef {
		t.Fatalf("purchases = %+v", rows)
	}
}

func testPaidRefunds(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-server", 3)))
	r := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[0]}})
	if r.PaymentRef == "" || r.TotalCents != -11999 {
		t.Fatalf("refund %+v", r)
	}
	if net := e.pay.Net("a@example.com", "USD"); net != 2*11999 {
		t.Fatalf("net after one refund: %d", net)
	}
	if again := e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[0]}}); !again.Replayed {
		t.Fatalf("again: %+v", again)
	}
	e.refund(a, licensing.RefundRequest{PurchaseID: p.ID})
	if net := e.pay.Net("a@example.com", "USD"); net != 0 {
		t.Fatalf("net after the whole refund: %d", net)
	}
	// A license with a plan: the plan's charge is refunded too.
	k := e.buy(a, req(line("backup-server", 1)))
	mp := e.buyMaintenance(a, forKey(k.Licenses[0]))
	before := e.pay.Net("a@example.com", "USD")
	rk := e.refund(a, licensing.RefundRequest{PurchaseID: k.ID})
	if len(rk.AlsoRefunded) != 1 || rk.AlsoRefunded[0].PaymentRef == "" {
		t.Fatalf("refund with a plan: %+v", rk)
	}
	if net := e.pay.Net("a@example.com", "USD"); net != before-11999-mp.TotalCents {
		t.Fatalf("net after refunding a license and its plan: %d, want %d", net, before-11999-mp.TotalCents)
	}
	// A dry run asks the provider nothing.
	q := e.buy(a, req(line("backup-desktop", 1)))
	e.refund(a, licensing.RefundRequest{PurchaseID: q.ID, DryRun: true})
	if net := e.pay.Net("a@example.com", "USD"); net != 4999 {
		t.Fatalf("net after a dry run: %d", net)
	}
}

func testReconcile(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	e.buy(a, req(line("backup-server", 1)))
	e.buy(a, req(line("backup-desktop", 2)))
	ctx := context.Background()
	r, err := e.Operator.ReconcilePayments(ctx, Start().Add(-1))
	if err != nil || r.Matched != 2 || len(r.ChargesWithoutPurchase) != 0 || len(r.PurchasesWithoutCharge) != 0 {
		t.Fatalf("reconcile = %+v, %v", r, err)
	}
	// A charge whose purchase was never written (its process died after
	// the charge and nobody retried): a charge without purchase.
	if _, err := e.pay.Charge(ctx, app.Charge{Customer: "cus_x", AmountCents: 4999, Currency: "USD", IdempotencyKey: "lost",
		Metadata: map[string]string{"licensectl_account": "a@example.com", "licensectl_key": "lost"}}); err != nil {
		t.Fatal(err)
	}
	r, err = e.Operator.ReconcilePayments(ctx, Start().Add(-1))
	if err != nil || r.Matched != 2 || len(r.ChargesWithoutPurchase) != 1 || r.ChargesWithoutPurchase[0].Key != "lost" {
		t.Fatalf("reconcile after a lost commit = %+v, %v", r, err)
	}
}

// testProviderMoneyInvariants: for any sequence of buys (some declined),
// refunds and renewals, what the purchases record - paid totals less
// refunds - is what the provider kept, per account and currency.
func testProviderMoneyInvariants(t *testing.T, e *payEnv) {
	rng := rand.New(rand.NewPCG(2026, 19))
	emails := []string{"a@example.com", "b@example.com"}
	accts := []context.Context{e.account(emails[0]), e.account(emails[1])}
	products := []licensing.BuyLine{line("backup-desktop", 1), withAddOns(line("backup-server", 1))}
	for step := 0; step < 40; step++ {
		i := rng.IntN(len(accts))
		ctx := accts[i]
		switch op := rng.IntN(10); {
		case op < 5:
			l := products[rng.IntN(len(products))]
			l.Quantity = 1 + rng.IntN(3)
			if rng.IntN(4) == 0 {
				e.pay.Answer(app.ChargeDeclined)
			}
			if _, err := e.svc.Buy(ctx, req(l), nil); err != nil && licensing.ErrorCode(err) != licensing.ECONFLICT {
				t.Fatalf("step %d: buy: %v", step, err)
			}
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
	for i, ctx := range accts {
		var recorded int64
		for _, r := range e.purchases(ctx, licensing.PurchaseFilter{}) {
			if r.PaymentStatus == licensing.PaymentPending || r.PaymentStatus == licensing.PaymentFailed || r.Currency != "USD" {
				continue
			}
			recorded += r.TotalCents // refunds are negative
		}
		if kept := e.pay.Net(emails[i], "USD"); kept != recorded {
			t.Errorf("%s: purchases less refunds %d, the provider kept %d", emails[i], recorded, kept)
		}
	}
}

func testPaidMaintenance(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	key := e.buy(a, req(line("backup-server", 1))).Licenses[0]
	e.pay.Answer(app.ChargeDeclined)
	_, err := e.svc.BuyMaintenance(a, forKey(key), nil)
	wantCode(t, err, licensing.ECONFLICT, "maintenance with a declined card")
	if plans := e.plans(a, licensing.MaintenanceFilter{}); len(plans) != 0 {
		t.Fatalf("plans after a decline: %+v", plans)
	}
	m := e.buyMaintenance(a, forKey(key))
	if m.PaymentRef == "" || m.PaymentStatus != licensing.PaymentPaid || len(m.Plans) != 1 {
		t.Fatalf("paid maintenance %+v", m)
	}
	if net := e.pay.Net("a@example.com", "USD"); net != 11999+m.TotalCents {
		t.Fatalf("net %d", net)
	}
}

func testPaidRenewals(t *testing.T, e *payEnv) {
	a := e.account("a@example.com")
	sub := e.buy(a, req(billed(line("mbs-desktop", 1), licensing.BillingMonthly))).Licenses[0]
	// A month on: the renewal is charged, and recorded with its charge.
	run := e.runRenewals(a, Start().AddDate(0, 1, 0))
	if run.Renewed != 1 || run.Failed != 0 || len(run.Purchases) != 1 {
		t.Fatalf("first run = %+v", run)
	}
	d := e.purchase(a, run.Purchases[0])
	if d.Kind != licensing.PurchaseKindRenewal || d.PaymentRef == "" || d.TotalCents != 299 {
		t.Fatalf("renewal purchase %+v", d)
	}
	if net := e.pay.Net("a@example.com", "USD"); net != 2*299 {
		t.Fatalf("net after a renewal: %d", net)
	}
	// The next month the card is refused: not renewed, past due, valid
	// with a warning for the grace period (7 days), emailed.
	e.pay.Answer(app.ChargeDeclined)
	due := Start().AddDate(0, 2, 0)
	e.clock.Set(due)
	run = e.runRenewals(a, due)
	if run.Renewed != 0 || run.Failed != 1 || len(run.Purchases) != 0 {
		t.Fatalf("declined run = %+v", run)
	}
	e.clock.Set(due.Add(24 * time.Hour))
	v, err := e.svc.ValidateLicense(a, sub, "", "")
	if err != nil || v.Code != licensing.ValidValid || v.Warning == "" {
		t.Fatalf("validate while past due = %+v, %v", v, err)
	}
	// Paid on the next run: renewed from its due date, no longer past due.
	run = e.runRenewals(a, e.clock.Now())
	if run.Renewed != 1 || run.Failed != 0 {
		t.Fatalf("retry run = %+v", run)
	}
	if v, err := e.svc.ValidateLicense(a, sub, "", ""); err != nil || v.Code != licensing.ValidValid || v.Warning != "" ||
		v.ExpiresAt == nil || !v.ExpiresAt.Equal(Start().AddDate(0, 3, 0)) {
		t.Fatalf("validate after paying = %+v, %v", v, err)
	}
	// Refused until the grace period is over: it ends.
	due = Start().AddDate(0, 3, 0)
	e.pay.Answer(app.ChargeDeclined, app.ChargeDeclined)
	e.clock.Set(due)
	e.runRenewals(a, due)
	e.clock.Set(due.Add(8 * 24 * time.Hour))
	if v, err := e.svc.ValidateLicense(a, sub, "", ""); err != nil || v.Code != licensing.ValidExpired {
		t.Fatalf("validate after the grace period = %+v, %v", v, err)
	}
	run = e.runRenewals(a, e.clock.Now())
	if run.Failed != 1 || run.Renewed != 0 {
		t.Fatalf("run after the grace period = %+v", run)
	}
	run = e.runRenewals(a, e.clock.Now())
	if run.Expired != 1 || run.Renewed != 0 {
		t.Fatalf("the run that ends it = %+v", run)
	}
	if evs := e.audit(a, licensing.AuditFilter{Action: "renewal.failed"}); len(evs) != 3 {
		t.Errorf("renewal.failed events: %d", len(evs))
	}
}
