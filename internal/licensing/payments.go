package licensing

import (
	"context"
	"time"
)

// Payment providers (config payment.provider).
const (
	ProviderNone   = "none"
	ProviderStripe = "stripe"
)

// DefaultGrace is how long a subscription whose renewal charge failed stays
// valid, past due (config payment.grace).
const DefaultGrace = 7 * 24 * time.Hour

// PaymentMethod is a saved card, as the provider describes it.
type PaymentMethod struct {
	ID       string `json:"id"`
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

// Billing is the acting account's payment set-up: `billing show` and
// `billing setup`.
type Billing struct {
	Provider string         `json:"provider"`
	Customer string         `json:"customer"`
	Method   *PaymentMethod `json:"payment_method"`
	// SetupURL is where to save a card (billing setup only).
	SetupURL string `json:"setup_url,omitempty"`
}

// ProviderCharge is a charge as the payment provider lists it.
type ProviderCharge struct {
	Ref         string    `json:"payment_ref"`
	Status      string    `json:"status"`
	AmountCents int64     `json:"amount_cents"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
	// Account and Key are what the charge's metadata says it was for.
	Account string `json:"account"`
	Key     string `json:"idempotency_key"`
}

// Reconciliation compares the provider's charges with the purchases.
type Reconciliation struct {
	Provider string    `json:"provider"`
	Since    time.Time `json:"since"`
	Matched  int       `json:"matched"`
	// ChargesWithoutPurchase are charges that succeeded with no purchase
	// recording them (a crash between the charge and the commit that was
	// never retried): refund them, or retry the purchase with its key.
	ChargesWithoutPurchase []ProviderCharge `json:"charges_without_purchase"`
	// PurchasesWithoutCharge are paid purchases whose charge the provider
	// does not list as succeeded.
	PurchasesWithoutCharge []PurchaseRow `json:"purchases_without_charge"`
	// AmountMismatches are purchases whose charge took another amount.
	AmountMismatches []PurchaseRow `json:"amount_mismatches"`
}

// PaymentService is the payment provider's side of the tool.
type PaymentService interface {
	// ShowBilling tells the acting account's customer and saved card.
	ShowBilling(ctx context.Context) (*Billing, error)
	// SetupBilling answers a link where the acting account saves a card.
	SetupBilling(ctx context.Context) (*Billing, error)
	// ReconcilePayments lists charges without purchases and the reverse,
	// across accounts (the vendor's: the lookup scope).
	ReconcilePayments(ctx context.Context, since time.Time) (*Reconciliation, error)
	// HandlePaymentEvent takes a provider's signed webhook (the server's
	// POST /v1/webhooks/stripe), once per event id.
	HandlePaymentEvent(ctx context.Context, payload []byte, signature string) error
}
