package stripe_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/stripe"
	"github.com/licensectl/licensectl/internal/payment/stripe/stripemock"
)

func provider(t *testing.T) *stripe.Provider {
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_123", WebhookSecret: "whsec_test", APIBase: stripemock.Start(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every call goes to stripe-mock, which refuses a request Stripe's API
// description does not allow: a wrong parameter fails here.
func TestAgainstStripeMock(t *testing.T) {
	p := provider(t)
	ctx := context.Background()
	cus, err := p.Customer(ctx, "a@example.com", 7)
	if err != nil || !strings.HasPrefix(cus, "cus_") {
		t.Fatalf("Customer = %q, %v", cus, err)
	}
	r, err := p.Charge(ctx, app.Charge{Customer: cus, AmountCents: 11999, Currency: "USD", IdempotencyKey: "licensectl-test-1",
		Description: "P-TEST", Email: "a@example.com", Metadata: map[string]string{"licensectl_account": "a@example.com", "licensectl_key": "k1"}})
	if err != nil || r.Status != app.ChargeSucceeded || !strings.HasPrefix(r.Ref, "pi_") {
		t.Fatalf("Charge = %+v, %v", r, err)
	}
	ref, err := p.Refund(ctx, app.RefundCharge{PaymentRef: r.Ref, AmountCents: 11999, IdempotencyKey: "licensectl-refund-1", Reason: "test"})
	if err != nil || !strings.HasPrefix(ref, "re_") {
		t.Fatalf("Refund = %q, %v", ref, err)
	}
	link, err := p.SetupLink(ctx, cus)
	if err != nil || !strings.HasPrefix(link, "https://") {
		t.Fatalf("SetupLink = %q, %v", link, err)
	}
	m, err := p.SavedMethod(ctx, cus)
	if err != nil || m == nil || m.Last4 == "" {
		t.Fatalf("SavedMethod = %+v, %v", m, err)
	}
	charges, err := p.Charges(ctx, time.Now().Add(-time.Hour))
	if err != nil || len(charges) == 0 || charges[0].Ref == "" {
		t.Fatalf("Charges = %+v, %v", charges, err)
	}
}

// A bad key is a configuration error that never echoes the key.
func TestUnreachableIsTemporary(t *testing.T) {
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_secretvalue", APIBase: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Customer(context.Background(), "a@example.com", 1)
	if licensing.ErrorCode(err) != licensing.EUNAVAILABLE || strings.Contains(err.Error(), "secretvalue") {
		t.Fatalf("unreachable Stripe: %v (%s)", err, licensing.ErrorCode(err))
	}
}

// sign makes a Stripe-Signature header as Stripe's documentation describes
// it (t=TIMESTAMP,v1=HEX(HMAC-SHA256(secret, "TIMESTAMP.PAYLOAD"))), written
// from the description rather than with the SDK that verifies it.
func sign(secret string, at time.Time, payload []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", at.Unix(), payload)
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

func TestWebhookSignature(t *testing.T) {
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_123", WebhookSecret: "whsec_test"})
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","api_version":"2025-01-27.acacia",` +
		`"data":{"object":{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":100,"currency":"usd"}}}`)
	ev, err := p.ParseEvent(payload, sign("whsec_test", time.Now(), payload))
	if err != nil || ev.ID != "evt_1" || ev.Type != app.EventPaymentSucceeded || ev.PaymentRef != "pi_1" {
		t.Fatalf("ParseEvent = %+v, %v", ev, err)
	}
	for name, sig := range map[string]string{
		"another secret": sign("whsec_other", time.Now(), payload),
		"too old":        sign("whsec_test", time.Now().Add(-time.Hour), payload),
		"no signature":   "",
	} {
		if _, err := p.ParseEvent(payload, sig); licensing.ErrorCode(err) != licensing.EUNAUTHORIZED {
			t.Errorf("%s: %v", name, err)
		}
	}
	tampered := []byte(strings.Replace(string(payload), `"amount":100`, `"amount":1`, 1))
	if _, err := p.ParseEvent(tampered, sign("whsec_test", time.Now(), payload)); licensing.ErrorCode(err) != licensing.EUNAUTHORIZED {
		t.Errorf("a tampered payload: %v", err)
	}
}
