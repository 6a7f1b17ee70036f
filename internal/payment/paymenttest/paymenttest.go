// Package paymenttest has Double, a test double of a payment provider at
// the app.Payments interface, for what stripe-mock cannot produce: a
// declined card, a payment that waits for its holder (3-D Secure), a crash
// between the charge and the commit, the webhook that completes a payment,
// and the sums a provider actually took. It keeps charges and refunds in
// memory and honours idempotency keys as Stripe does (the same key answers
// the first result). Everything else is tested against stripe-mock.
package paymenttest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Double is the test double. Its zero value is not ready: use New.
type Double struct {
	mu sync.Mutex
	// next outcomes of Charge, in order (app.ChargeSucceeded when none).
	next []string
	// OnCharge, when set, runs after a new charge is taken, before Charge
	// returns: a test panics in it to stop the purchase as a crash would.
	OnCharge func(app.Charge)
	secret   []byte
	seq      int
	charges  map[string]*app.ChargeResult // by idempotency key
	amounts  map[string]app.Charge        // by ref
	refunds  map[string]string            // idempotency key -> refund ref
	refunded map[string]int64             // by charge ref
	events   int
}

var _ app.Payments = (*Double)(nil)

// New returns a Double whose webhooks are signed with secret.
func New(secret string) *Double {
	return &Double{secret: []byte(secret), charges: map[string]*app.ChargeResult{}, amounts: map[string]app.Charge{},
		refunds: map[string]string{}, refunded: map[string]int64{}}
}

// Answer queues outcomes for the next new charges.
func (d *Double) Answer(outcomes ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next = append(d.next, outcomes...)
}

// Provider implements app.Payments.
func (d *Double) Provider() string { return "double" }

// Customer implements app.Payments.
func (d *Double) Customer(_ context.Context, _ string, acct int64) (string, error) {
	return fmt.Sprintf("cus_double_%d", acct), nil
}

// Charge implements app.Payments.
func (d *Double) Charge(_ context.Context, c app.Charge) (*app.ChargeResult, error) {
	d.mu.Lock()
	if r, ok := d.charges[c.IdempotencyKey]; ok {
		d.mu.Unlock()
		cp := *r
		return &cp, nil
	}
	d.seq++
	outcome := app.ChargeSucceeded
	if len(d.next) > 0 {
		outcome, d.next = d.next[0], d.next[1:]
	}
	r := &app.ChargeResult{Status: outcome, Ref: fmt.Sprintf("pi_double_%d", d.seq)}
	switch outcome {
	case app.ChargeSucceeded:
		r.ReceiptURL = "https://receipts.example/" + r.Ref
	case app.ChargePending:
		r.ActionURL = "https://pay.example/confirm/" + r.Ref
	case app.ChargeDeclined:
		r.Reason = "Your card was declined. (insufficient_funds)"
	}
	d.charges[c.IdempotencyKey] = r
	d.amounts[r.Ref] = c
	hook := d.OnCharge
	d.mu.Unlock()
	if hook != nil {
		hook(c)
	}
	cp := *r
	return &cp, nil
}

// Complete settles a pending charge (as its holder would): it answers the
// signed webhook the provider would send.
func (d *Double) Complete(ref string, succeeded bool) (payload []byte, signature string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	typ := app.EventPaymentFailed
	for _, r := range d.charges {
		if r.Ref == ref {
			if succeeded {
				r.Status, typ = app.ChargeSucceeded, app.EventPaymentSucceeded
			} else {
				r.Status = app.ChargeDeclined
			}
		}
	}
	d.events++
	payload, _ = json.Marshal(app.PaymentEvent{ID: fmt.Sprintf("evt_double_%d", d.events), Type: typ, PaymentRef: ref})
	return payload, d.sign(payload)
}

func (d *Double) sign(payload []byte) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

// ParseEvent implements app.Payments: the signature is an HMAC of the
// payload with the double's secret.
func (d *Double) ParseEvent(payload []byte, signature string) (*app.PaymentEvent, error) {
	if !hmac.Equal([]byte(d.sign(payload)), []byte(signature)) {
		return nil, licensing.Errorf(licensing.EUNAUTHORIZED, "the webhook's signature does not verify")
	}
	var ev app.PaymentEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "the webhook is not an event")
	}
	return &ev, nil
}

// Refund implements app.Payments; it refuses more than was charged.
func (d *Double) Refund(_ context.Context, r app.RefundCharge) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ref, ok := d.refunds[r.IdempotencyKey]; ok {
		return ref, nil
	}
	c, ok := d.amounts[r.PaymentRef]
	if !ok {
		return "", licensing.Errorf(licensing.EINTERNAL, "no such charge %s", r.PaymentRef)
	}
	if d.refunded[r.PaymentRef]+r.AmountCents > c.AmountCents {
		return "", licensing.Errorf(licensing.EINTERNAL, "refund of %d exceeds charge %s", r.AmountCents, r.PaymentRef)
	}
	d.seq++
	ref := fmt.Sprintf("re_double_%d", d.seq)
	d.refunds[r.IdempotencyKey] = ref
	d.refunded[r.PaymentRef] += r.AmountCents
	return ref, nil
}

// SetupLink implements app.Payments.
func (d *Double) SetupLink(_ context.Context, customer string) (string, error) {
	return "https://pay.example/setup/" + customer, nil
}

// SavedMethod implements app.Payments.
func (d *Double) SavedMethod(context.Context, string) (*licensing.PaymentMethod, error) {
	return &licensing.PaymentMethod{ID: "pm_double", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030}, nil
}

// Charges implements app.Payments.
func (d *Double) Charges(_ context.Context, since time.Time) ([]licensing.ProviderCharge, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []licensing.ProviderCharge
	for _, r := range d.charges {
		c := d.amounts[r.Ref]
		out = append(out, licensing.ProviderCharge{Ref: r.Ref, Status: r.Status, AmountCents: c.AmountCents, Currency: c.Currency,
			Account: c.Metadata["licensectl_account"], Key: c.Metadata["licensectl_key"]})
	}
	return out, nil
}

// Net is what the double kept of an account's money in a currency: the
// charges that succeeded less what was refunded of them.
func (d *Double) Net(account, currency string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for _, r := range d.charges {
		c := d.amounts[r.Ref]
		if r.Status == app.ChargeSucceeded && c.Metadata["licensectl_account"] == account && c.Currency == currency {
			n += c.AmountCents - d.refunded[r.Ref]
		}
	}
	return n
}

// Count is how many charges the double took (succeeded or not).
func (d *Double) Count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.charges)
}
