package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Payments is a payment provider (internal/payment/stripe), the port the
// money use cases charge and refund through. Without one (payment.provider
// none) a purchase is recorded as paid, as for internal and on-premise use.
//
// Every call that moves money takes an idempotency key the use case derives
// from the purchase's own key, so a retry after a crash between the charge
// and the commit finds the same charge rather than making a second.
type Payments interface {
	// Provider names it ("stripe").
	Provider() string
	// Customer returns the provider's customer of an account: ref when the
	// store has one, else a new one (idempotent per account).
	Customer(ctx context.Context, email string, accountID int64) (string, error)
	// Charge takes an amount off-session from the customer's saved card.
	// A refused card is a result (ChargeDeclined), not an error; errors are
	// the provider's outages and misconfiguration.
	Charge(ctx context.Context, c Charge) (*ChargeResult, error)
	// Refund gives back an amount of a charge.
	Refund(ctx context.Context, r RefundCharge) (string, error)
	// SetupLink is a page where the customer saves a card.
	SetupLink(ctx context.Context, customer string) (string, error)
	// SavedMethod describes the customer's saved card, or nil.
	SavedMethod(ctx context.Context, customer string) (*licensing.PaymentMethod, error)
	// Charges lists the charges made since, for reconciliation.
	Charges(ctx context.Context, since time.Time) ([]licensing.ProviderCharge, error)
	// ParseEvent verifies a webhook's signature and reads it.
	ParseEvent(payload []byte, signature string) (*PaymentEvent, error)
}

// Charge asks a provider for money.
type Charge struct {
	Customer       string
	AmountCents    int64
	Currency       string
	IdempotencyKey string
	Description    string
	Email          string // for the provider's own receipt
	// Metadata is kept with the charge: account and purchase key, so that
	// reconciliation can match charges and purchases.
	Metadata map[string]string
}

// Charge outcomes.
const (
	ChargeSucceeded = "succeeded"
	ChargePending   = "pending" // needs the customer (3-D Secure)
	ChargeDeclined  = "declined"
)

// ChargeResult is what a provider answered.
type ChargeResult struct {
	Status     string
	Ref        string // the PaymentIntent id
	ReceiptURL string
	ActionURL  string // pending: where the customer completes it
	Reason     string // declined: why
}

// RefundCharge asks a provider to give back money.
type RefundCharge struct {
	PaymentRef     string
	AmountCents    int64
	IdempotencyKey string
	Reason         string
}

// PaymentEvent is a provider's webhook event as the use cases need it.
type PaymentEvent struct {
	ID         string
	Type       string // payment_succeeded | payment_failed | other
	PaymentRef string
	ReceiptURL string
	Reason     string
}

// Payment event types.
const (
	EventPaymentSucceeded = "payment_succeeded"
	EventPaymentFailed    = "payment_failed"
)

// PaymentTx is what payments need of a transaction.
type PaymentTx interface {
	// CustomerRef returns the provider's customer of an account, or "".
	CustomerRef(ctx context.Context, acct int64, provider string) (string, error)
	// SetCustomerRef records it.
	SetCustomerRef(ctx context.Context, acct int64, provider, ref string) error
	// PurchaseByPaymentRef finds a purchase by its provider reference.
	PurchaseByPaymentRef(ctx context.Context, ref string, lock Lock) (*StoredPurchase, error)
	// SetPayment sets a purchase's payment status, reference and receipt.
	SetPayment(ctx context.Context, purchaseID, status, ref, receiptURL string) error
	// PendingRequest is the request a pending purchase will make when its
	// payment completes ("" for none).
	PendingRequest(ctx context.Context, purchaseID string) (string, error)
	// RecordEvent records a provider's webhook event once; false when it
	// was recorded before.
	RecordEvent(ctx context.Context, provider, id, typ string, at time.Time) (bool, error)
	// PaidPurchases lists purchases with a provider reference made since.
	PaidPurchases(ctx context.Context, since time.Time) ([]licensing.PurchaseRow, error)
}

// pendingBuy is what a pending purchase stores to complete.
type pendingBuy struct {
	Request licensing.BuyRequest `json:"request"`
	Key     string               `json:"key"`
}

// chargeKey is the provider's idempotency key of a charge: the account, the
// purchase's own key and the request's hash, so the same purchase retried
// finds its charge and another purchase never does.
func chargeKey(kind string, acct int64, key, hash string) string {
	if len(hash) > 16 {
		hash = hash[:16]
	}
	return fmt.Sprintf("licensectl-%s-%d-%s-%s", kind, acct, key, hash)
}

// customer returns the provider's customer of acct, making it the first
// time it pays.
func (a *App) customer(ctx context.Context, acct account) (string, error) {
	provider := a.pay.Provider()
	get := func(tx Tx, _ time.Time) (string, error) { return tx.CustomerRef(ctx, acct.id, provider) }
	ref, err := read(ctx, a, get)
	if err != nil || ref != "" {
		return ref, err
	}
	if ref, err = a.pay.Customer(ctx, acct.email, acct.id); err != nil {
		return "", err
	}
	// The first one recorded stays (two first purchases at once made the
	// same customer: its creation is idempotent per account).
	return write(ctx, a, func(tx Tx, now time.Time) (string, error) {
		if err := tx.SetCustomerRef(ctx, acct.id, provider, ref); err != nil {
			return "", err
		}
		return get(tx, now)
	})
}

// charge takes total from buyer's saved card. A declined card is ECONFLICT
// (exit 5) with the provider's reason: nothing is bought. pending is the
// purchase's request, kept when the payment needs the customer.
func (a *App) charge(ctx context.Context, buyer account, total int64, currency, kind, key, hash string, pending []byte) (payment, error) {
	cus, err := a.customer(ctx, buyer)
	if err != nil {
		return payment{}, err
	}
	r, err := a.pay.Charge(ctx, Charge{Customer: cus, AmountCents: total, Currency: currency,
		IdempotencyKey: chargeKey(kind, buyer.id, key, hash), Description: "licensectl " + kind + " " + key, Email: buyer.email,
		Metadata: map[string]string{"licensectl_account": buyer.email, "licensectl_key": key, "licensectl_kind": kind}})
	if err != nil {
		return payment{}, err
	}
	switch r.Status {
	case ChargeSucceeded:
		return payment{ref: r.Ref, receiptURL: r.ReceiptURL}, nil
	case ChargePending:
		if pending == nil {
			return payment{}, licensing.Errorf(licensing.ECONFLICT, "the payment needs the card holder (%s): nothing was bought", r.Ref).
				WithHint("complete a payment with `licensectl billing setup`, then retry")
		}
		return payment{ref: r.Ref, pending: true, request: string(pending), url: r.ActionURL}, nil
	}
	return payment{}, licensing.Errorf(licensing.ECONFLICT, "the card was declined: %s; nothing was bought", r.Reason).
		WithHint("save another card with `licensectl billing setup`, then retry with the same --idempotency-key")
}

// undoCharge refunds a charge whose purchase could not be written, so that
// no money is kept for nothing; if the provider cannot be reached either,
// `payments reconcile` lists it.
func (a *App) undoCharge(ctx context.Context, pay payment, amount int64, key string) {
	ctx = context.WithoutCancel(ctx)
	a.pay.Refund(ctx, RefundCharge{PaymentRef: pay.ref, AmountCents: amount, IdempotencyKey: "licensectl-undo-" + pay.ref,
		Reason: "purchase " + key + " was not made"})
}

// ShowBilling implements licensing.PaymentService.
func (a *App) ShowBilling(ctx context.Context) (*licensing.Billing, error) {
	return a.billing(ctx, false)
}

// SetupBilling implements licensing.PaymentService.
func (a *App) SetupBilling(ctx context.Context) (*licensing.Billing, error) {
	return a.billing(ctx, true)
}

func (a *App) billing(ctx context.Context, setup bool) (*licensing.Billing, error) {
	if a.pay == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "no payment provider is configured: purchases are recorded as paid").
			WithHint("set payment.provider: stripe (and payment.stripe.secret_key) to take card payments")
	}
	acct, err := read(ctx, a, func(tx Tx, _ time.Time) (account, error) { return actingAccount(ctx, tx) })
	if err != nil {
		return nil, err
	}
	cus, err := a.customer(ctx, acct)
	if err != nil {
		return nil, err
	}
	b := &licensing.Billing{Provider: a.pay.Provider(), Customer: cus}
	if b.Method, err = a.pay.SavedMethod(ctx, cus); err != nil {
		return nil, err
	}
	if setup {
		b.SetupURL, err = a.pay.SetupLink(ctx, cus)
	}
	return b, err
}

// ReconcilePayments implements licensing.PaymentService: the vendor's
// check that every charge has its purchase and every paid purchase its
// charge.
func (a *App) ReconcilePayments(ctx context.Context, since time.Time) (*licensing.Reconciliation, error) {
	if err := licensing.Authorize(ctx, licensing.ScopeLookup); err != nil {
		return nil, err
	}
	if a.pay == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "no payment provider is configured: there is nothing to reconcile")
	}
	since = since.UTC().Truncate(time.Second)
	charges, err := a.pay.Charges(ctx, since)
	if err != nil {
		return nil, err
	}
	rows, err := read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.PurchaseRow, error) { return tx.PaidPurchases(ctx, since) })
	if err != nil {
		return nil, err
	}
	out := &licensing.Reconciliation{Provider: a.pay.Provider(), Since: since,
		ChargesWithoutPurchase: []licensing.ProviderCharge{}, PurchasesWithoutCharge: []licensing.PurchaseRow{},
		AmountMismatches: []licensing.PurchaseRow{}}
	byRef := map[string]licensing.PurchaseRow{}
	for _, r := range rows {
		if r.Kind != licensing.PurchaseKindRefund && r.PaymentRef != "" {
			byRef[r.PaymentRef] = r
		}
	}
	seen := map[string]bool{}
	for _, c := range charges {
		if c.Status != ChargeSucceeded {
			continue
		}
		r, ok := byRef[c.Ref]
		switch {
		case !ok:
			out.ChargesWithoutPurchase = append(out.ChargesWithoutPurchase, c)
		case r.TotalCents != c.AmountCents:
			out.AmountMismatches = append(out.AmountMismatches, r)
		default:
			out.Matched++
		}
		seen[c.Ref] = true
	}
	for _, r := range rows {
		if r.Kind == licensing.PurchaseKindRefund || r.PaymentStatus == licensing.PaymentPending || r.PaymentStatus == licensing.PaymentFailed {
			continue
		}
		if r.PaymentRef == "" || !seen[r.PaymentRef] {
			out.PurchasesWithoutCharge = append(out.PurchasesWithoutCharge, r)
		}
	}
	return out, nil
}

// HandlePaymentEvent implements licensing.PaymentService: a verified event
// completes or fails a pending purchase, once per event id. An event about
// a payment no purchase records yet (the webhook came before the purchase
// committed) is ENOTFOUND, so the provider sends it again later.
func (a *App) HandlePaymentEvent(ctx context.Context, payload []byte, signature string) error {
	if a.pay == nil {
		return licensing.Errorf(licensing.ENOTFOUND, "no payment provider is configured")
	}
	ev, err := a.pay.ParseEvent(payload, signature)
	if err != nil {
		return err
	}
	var sent *licensing.Purchase
	_, err = write(ctx, a, func(tx Tx, now time.Time) (struct{}, error) {
		sent = nil
		if ev.Type != EventPaymentSucceeded && ev.Type != EventPaymentFailed {
			_, err := tx.RecordEvent(ctx, a.pay.Provider(), ev.ID, ev.Type, now)
			return struct{}{}, err
		}
		p, err := tx.PurchaseByPaymentRef(ctx, ev.PaymentRef, ForUpdate)
		if err != nil {
			return struct{}{}, err
		}
		if p == nil {
			return struct{}{}, licensing.Errorf(licensing.ENOTFOUND, "no purchase has payment %s (yet)", ev.PaymentRef)
		}
		first, err := tx.RecordEvent(ctx, a.pay.Provider(), ev.ID, ev.Type, now)
		if err != nil || !first || p.PaymentStatus != licensing.PaymentPending {
			return struct{}{}, err // seen before, or the purchase is settled already
		}
		if ev.Type == EventPaymentFailed {
			if err := tx.SetPayment(ctx, p.ID, licensing.PaymentFailed, p.PaymentRef, ""); err != nil {
				return struct{}{}, err
			}
			return struct{}{}, audit(ctx, tx, p.AccountID, now, a.pay.Provider(), "purchase.failed", p.ID, map[string]any{"reason": ev.Reason})
		}
		sent, err = completePending(ctx, tx, p, ev, now)
		return struct{}{}, err
	})
	if err == nil && sent != nil {
		a.sendReceipt(ctx, sent)
	}
	return err
}

// completePending makes what a pending purchase bought, now its payment
// succeeded: the rules are applied again (the request is the one priced
// when the customer was charged) to the purchase already written.
func completePending(ctx context.Context, tx Tx, p *StoredPurchase, ev *PaymentEvent, now time.Time) (*licensing.Purchase, error) {
	raw, err := tx.PendingRequest(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	var pb pendingBuy
	if err := json.Unmarshal([]byte(raw), &pb); err != nil {
		return nil, fmt.Errorf("pending purchase %s: %w", p.ID, err)
	}
	email, err := tx.PurchaseBuyer(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	buyer := account{id: p.AccountID, email: email}
	o, err := preparePurchase(ctx, tx, pb.Request, buyer)
	if err != nil {
		return nil, err
	}
	o.pay = payment{ref: p.PaymentRef, receiptURL: ev.ReceiptURL}
	if err := tx.SetPayment(ctx, p.ID, licensing.PaymentPaid, p.PaymentRef, ev.ReceiptURL); err != nil {
		return nil, err
	}
	out := &p.Purchase
	out.Account, out.PaymentStatus, out.Items = email, licensing.PaymentPaid, o.items
	if ev.ReceiptURL != "" {
		u := ev.ReceiptURL
		out.ReceiptURL = &u
	}
	return out, writeOrder(ctx, tx, o, out, now, nil)
}

// pastDueUntil is the end of the grace period of a renewal charge that
// failed at since; nil for none.
func (a *App) pastDueUntil(since *time.Time) *time.Time {
	if since == nil {
		return nil
	}
	t := since.Add(a.grace)
	return &t
}
