package httpapi

import (
	"context"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// The client retries every POST with its Idempotency-Key after a lost
// answer, so the server answers a repeat with the first outcome: one
// activation, not a second seat or a "machine already activated" refusal;
// one deactivation, not "no such activation".
func TestRetriedActivationIsReplayed(t *testing.T) {
	fx := setup(t, Options{})
	body := `{"license_key":"` + fx.key + `","machine":"WEB-01","fingerprint":"fp-1","os":"linux","version":"5.0"}`
	first, body1 := fx.request(t, "POST", "/v1/activations", fx.tokenA, body, "Idempotency-Key", "act-1")
	if first.StatusCode != 201 {
		t.Fatalf("first = %d %s", first.StatusCode, body1)
	}
	again, body2 := fx.request(t, "POST", "/v1/activations", fx.tokenA, body, "Idempotency-Key", "act-1")
	if again.StatusCode != 201 || body2 != body1 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %s %q, want the first answer replayed", again.StatusCode, body2, again.Header.Get("Idempotent-Replayed"))
	}
	a := licensing.WithAccount(context.Background(), "a@example.com")
	acts, err := fx.store.ListActivations(a, licensing.ActivationFilter{LicenseKey: fx.key})
	if err != nil || len(acts) != 1 {
		t.Fatalf("activations = %v %v, want one", acts, err)
	}
	deact := `{"license_key":"` + fx.key + `","fingerprint":"fp-1"}`
	d1, b1 := fx.request(t, "POST", "/v1/deactivations", fx.tokenA, deact, "Idempotency-Key", "deact-1")
	d2, b2 := fx.request(t, "POST", "/v1/deactivations", fx.tokenA, deact, "Idempotency-Key", "deact-1")
	if d1.StatusCode != 200 || d2.StatusCode != 200 || b1 != b2 {
		t.Fatalf("deactivation %d %s, retry %d %s", d1.StatusCode, b1, d2.StatusCode, b2)
	}
}
