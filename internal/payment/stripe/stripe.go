// Package stripe is the Stripe payment provider (app.Payments) over the
// official SDK, github.com/stripe/stripe-go/v82: each account is a Stripe
// Customer, a purchase an off-session PaymentIntent confirmed at once with
// the purchase's idempotency key, a refund a Refund, saving a card a
// Checkout Session in setup mode. Its client is built per provider (no
// package-level backend), pointed at api_base: https://api.stripe.com, or a
// stripe-mock on loopback in tests.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Config configures the provider (payment.stripe.*).
type Config struct {
	SecretKey     string // sk_live_... or sk_test_...
	WebhookSecret string // whsec_...: verifies POST /v1/webhooks/stripe
	APIBase       string // "" : https://api.stripe.com
	// SuccessURL and CancelURL are where Checkout sends the customer after
	// saving a card.
	SuccessURL, CancelURL string
	HTTPClient            *http.Client
}

// Provider implements app.Payments with Stripe.
type Provider struct {
	c   *stripego.Client
	cfg Config
}

var _ app.Payments = (*Provider)(nil)

// New returns the provider cfg describes.
func New(cfg Config) (*Provider, error) {
	if cfg.SecretKey == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "payment.stripe.secret_key is not set").
			WithHint("set it (LICENSECTL_PAYMENT_STRIPE_SECRET_KEY), or payment.provider: none")
	}
	if cfg.SuccessURL == "" {
		cfg.SuccessURL = "https://example.com/billing/saved"
	}
	if cfg.CancelURL == "" {
		cfg.CancelURL = cfg.SuccessURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripego.BackendConfig{HTTPClient: hc, MaxNetworkRetries: stripego.Int64(2),
		LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull}}
	if cfg.APIBase != "" {
		bc.URL = stripego.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	backends := &stripego.Backends{API: stripego.GetBackendWithConfig(stripego.APIBackend, bc),
		Connect: stripego.GetBackendWithConfig(stripego.ConnectBackend, bc),
		Uploads: stripego.GetBackendWithConfig(stripego.UploadsBackend, bc)}
	return &Provider{c: stripego.NewClient(cfg.SecretKey, stripego.WithBackends(backends)), cfg: cfg}, nil
}

// Provider implements app.Payments.
func (p *Provider) Provider() string { return licensing.ProviderStripe }

// Customer implements app.Payments: one Customer per account, created with
// an idempotency key of the account, so two first purchases at once make
// one.
func (p *Provider) Customer(ctx context.Context, email string, accountID int64) (string, error) {
	params := &stripego.CustomerCreateParams{Email: stripego.String(email),
		Metadata: map[string]string{"licensectl_account": email}}
	params.SetIdempotencyKey("licensectl-customer-" + strconv.FormatInt(accountID, 10))
	c, err := p.c.V1Customers.Create(ctx, params)
	if err != nil {
		return "", translate(err)
	}
	return c.ID, nil
}

// Charge implements app.Payments: a PaymentIntent confirmed off-session
// with the customer's saved card.
func (p *Provider) Charge(ctx context.Context, c app.Charge) (*app.ChargeResult, error) {
	pm, err := p.defaultMethod(ctx, c.Customer)
	if err != nil {
		return nil, err
	}
	if pm == "" {
		return &app.ChargeResult{Status: app.ChargeDeclined, Reason: "no card is saved for this account: run `licensectl billing setup`"}, nil
	}
	params := &stripego.PaymentIntentCreateParams{
		Amount: stripego.Int64(c.AmountCents), Currency: stripego.String(strings.ToLower(c.Currency)),
		Customer: stripego.String(c.Customer), PaymentMethod: stripego.String(pm),
		Confirm: stripego.Bool(true), OffSession: stripego.Bool(true),
		Description: stripego.String(c.Description), Metadata: c.Metadata,
	}
	if c.Email != "" {
		params.ReceiptEmail = stripego.String(c.Email)
	}
	params.AddExpand("latest_charge")
	params.SetIdempotencyKey(c.IdempotencyKey)
	pi, err := p.c.V1PaymentIntents.Create(ctx, params)
	var se *stripego.Error
	if errors.As(err, &se) && (se.Type == stripego.ErrorTypeCard || se.Code == stripego.ErrorCodeAuthenticationRequired) {
		// A refused card, or one that needs its holder: a result.
		if se.Code == stripego.ErrorCodeAuthenticationRequired && se.PaymentIntent != nil {
			return &app.ChargeResult{Status: app.ChargePending, Ref: se.PaymentIntent.ID,
				ActionURL: "https://dashboard.stripe.com/payments/" + se.PaymentIntent.ID, Reason: se.Msg}, nil
		}
		r := &app.ChargeResult{Status: app.ChargeDeclined, Reason: declineReason(se)}
		if se.PaymentIntent != nil {
			r.Ref = se.PaymentIntent.ID
		}
		return r, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	return intentResult(pi), nil
}

// intentResult reads a PaymentIntent's status.
func intentResult(pi *stripego.PaymentIntent) *app.ChargeResult {
	r := &app.ChargeResult{Ref: pi.ID}
	if pi.LatestCharge != nil {
		r.ReceiptURL = pi.LatestCharge.ReceiptURL
	}
	switch pi.Status {
	case stripego.PaymentIntentStatusSucceeded:
		r.Status = app.ChargeSucceeded
	case stripego.PaymentIntentStatusRequiresAction, stripego.PaymentIntentStatusProcessing, stripego.PaymentIntentStatusRequiresConfirmation:
		r.Status = app.ChargePending
		if pi.NextAction != nil && pi.NextAction.RedirectToURL != nil {
			r.ActionURL = pi.NextAction.RedirectToURL.URL
		}
	default: // requires_payment_method, canceled: the card did not pay
		r.Status, r.Reason = app.ChargeDeclined, "the payment was not completed ("+string(pi.Status)+")"
		if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
			r.Reason = pi.LastPaymentError.Msg
		}
	}
	return r
}

func declineReason(se *stripego.Error) string {
	reason := se.Msg
	if reason == "" {
		reason = "the card was declined"
	}
	if se.DeclineCode != "" {
		reason += " (" + string(se.DeclineCode) + ")"
	}
	return reason
}

// defaultMethod is the customer's default card, else its first saved card.
func (p *Provider) defaultMethod(ctx context.Context, customer string) (string, error) {
	c, err := p.c.V1Customers.Retrieve(ctx, customer, nil)
	if err != nil {
		return "", translate(err)
	}
	if c.InvoiceSettings != nil && c.InvoiceSettings.DefaultPaymentMethod != nil && c.InvoiceSettings.DefaultPaymentMethod.ID != "" {
		return c.InvoiceSettings.DefaultPaymentMethod.ID, nil
	}
	m, err := p.firstCard(ctx, customer)
	if m == nil || err != nil {
		return "", err
	}
	return m.ID, nil
}

func (p *Provider) firstCard(ctx context.Context, customer string) (*stripego.PaymentMethod, error) {
	params := &stripego.PaymentMethodListParams{Customer: stripego.String(customer), Type: stripego.String("card")}
	params.Limit = stripego.Int64(1)
	for m, err := range p.c.V1PaymentMethods.List(ctx, params) {
		if err != nil {
			return nil, translate(err)
		}
		return m, nil
	}
	return nil, nil
}

// Refund implements app.Payments.
func (p *Provider) Refund(ctx context.Context, r app.RefundCharge) (string, error) {
	params := &stripego.RefundCreateParams{PaymentIntent: stripego.String(r.PaymentRef), Amount: stripego.Int64(r.AmountCents),
		Reason: stripego.String("requested_by_customer")}
	if r.Reason != "" {
		params.Metadata = map[string]string{"reason": r.Reason}
	}
	params.SetIdempotencyKey(r.IdempotencyKey)
	ref, err := p.c.V1Refunds.Create(ctx, params)
	if err != nil {
		return "", translate(err)
	}
	return ref.ID, nil
}

// SetupLink implements app.Payments: a Checkout Session in setup mode.
func (p *Provider) SetupLink(ctx context.Context, customer string) (string, error) {
	params := &stripego.CheckoutSessionCreateParams{Mode: stripego.String(string(stripego.CheckoutSessionModeSetup)),
		Customer: stripego.String(customer), Currency: stripego.String("usd"),
		PaymentMethodTypes: []*string{stripego.String("card")},
		SuccessURL:         stripego.String(p.cfg.SuccessURL), CancelURL: stripego.String(p.cfg.CancelURL)}
	s, err := p.c.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", translate(err)
	}
	return s.URL, nil
}

// SavedMethod implements app.Payments.
func (p *Provider) SavedMethod(ctx context.Context, customer string) (*licensing.PaymentMethod, error) {
	m, err := p.firstCard(ctx, customer)
	if m == nil || err != nil {
		return nil, err
	}
	out := &licensing.PaymentMethod{ID: m.ID}
	if m.Card != nil {
		out.Brand, out.Last4 = string(m.Card.Brand), m.Card.Last4
		out.ExpMonth, out.ExpYear = int(m.Card.ExpMonth), int(m.Card.ExpYear)
	}
	return out, nil
}

// Charges implements app.Payments: the PaymentIntents created since.
func (p *Provider) Charges(ctx context.Context, since time.Time) ([]licensing.ProviderCharge, error) {
	params := &stripego.PaymentIntentListParams{}
	params.CreatedRange = &stripego.RangeQueryParams{GreaterThanOrEqual: since.Unix()}
	params.Limit = stripego.Int64(100)
	var out []licensing.ProviderCharge
	for pi, err := range p.c.V1PaymentIntents.List(ctx, params) {
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, licensing.ProviderCharge{Ref: pi.ID, Status: string(pi.Status), AmountCents: pi.Amount,
			Currency: strings.ToUpper(string(pi.Currency)), CreatedAt: time.Unix(pi.Created, 0).UTC(),
			Account: pi.Metadata["licensectl_account"], Key: pi.Metadata["licensectl_key"]})
	}
	return out, nil
}

// ParseEvent implements app.Payments: webhook.ConstructEvent with the
// endpoint secret (signature and a 5-minute tolerance), then what a
// PaymentIntent event says.
func (p *Provider) ParseEvent(payload []byte, signature string) (*app.PaymentEvent, error) {
	if p.cfg.WebhookSecret == "" {
		return nil, licensing.Errorf(licensing.EFORBIDDEN, "webhooks are not configured (payment.stripe.webhook_secret)")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, p.cfg.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return nil, licensing.Errorf(licensing.EUNAUTHORIZED, "the webhook's signature does not verify")
	}
	out := &app.PaymentEvent{ID: ev.ID}
	switch ev.Type {
	case "payment_intent.succeeded":
		out.Type = app.EventPaymentSucceeded
	case "payment_intent.payment_failed", "payment_intent.canceled":
		out.Type = app.EventPaymentFailed
	default:
		out.Type = string(ev.Type)
		return out, nil
	}
	if ev.Data == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "webhook event %s has no object", ev.ID)
	}
	var pi stripego.PaymentIntent
	if err := pi.UnmarshalJSON(ev.Data.Raw); err != nil || pi.ID == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "webhook event %s: not a PaymentIntent", ev.ID)
	}
	r := intentResult(&pi)
	out.PaymentRef, out.ReceiptURL, out.Reason = pi.ID, r.ReceiptURL, r.Reason
	return out, nil
}

// translate turns the SDK's errors into domain errors: Stripe's outages and
// rate limits are temporary (exit 75), a bad key is a configuration error.
// The message never carries the key.
func translate(err error) error {
	var se *stripego.Error
	if !errors.As(err, &se) {
		return licensing.Errorf(licensing.EUNAVAILABLE, "the payment provider is unreachable: %v", redact(err))
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 || se.Type == stripego.ErrorTypeAPI:
		return licensing.Errorf(licensing.EUNAVAILABLE, "the payment provider is unavailable (%d): try again", se.HTTPStatusCode)
	case se.HTTPStatusCode == http.StatusUnauthorized:
		return licensing.Errorf(licensing.EINTERNAL, "the payment provider refused the configured key (payment.stripe.secret_key)")
	case se.Type == stripego.ErrorTypeIdempotency:
		return licensing.Errorf(licensing.ECONFLICT, "the payment provider saw this idempotency key with other parameters")
	}
	return licensing.Errorf(licensing.EINTERNAL, "the payment provider refused the request: %s", se.Msg)
}

// redact strips anything that looks like a secret key from an error text.
func redact(err error) string {
	s := err.Error()
	for _, prefix := range []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"} {
		for {
			i := strings.Index(s, prefix)
			if i < 0 {
				break
			}
			j := i + len(prefix)
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			s = s[:i] + "[redacted]" + s[j:]
		}
	}
	return fmt.Sprint(s)
}
