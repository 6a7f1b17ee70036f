package httpapi

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// refundBody is the body of POST /v1/purchases/{id}/refunds.
type refundBody struct {
	Licenses []string `json:"licenses,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	DryRun   bool     `json:"dry_run,omitempty"`
	Force    bool     `json:"force,omitempty"`
}

// maxWebhookBody bounds a provider's webhook (Stripe's events are a few KB).
const maxWebhookBody = 1 << 20

// cancelBody is the body of the cancellation endpoints.
type cancelBody struct {
	Undo bool `json:"undo"`
}

// moneyRoutes are purchases, refunds and cancellations.
func (s *Server) moneyRoutes() []route {
	return []route{
		{"GET /v1/purchases", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.PurchaseRow, error) {
			q := r.URL.Query()
			f := licensing.PurchaseFilter{Kind: q.Get("kind"), Company: q.Get("company")}
			if v := q.Get("since"); v != "" {
				t, err := timeParam(v, time.Time{})
				if err != nil {
					return nil, err
				}
				f.Since = &t
			}
			var err error
			if f.Limit, err = intParam(q, "limit"); err != nil {
				return nil, err
			}
			return svc.ListPurchases(ctx, f)
		}), false},
		{"GET /v1/purchases/{id}", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) (*licensing.PurchaseDetail, error) {
			return svc.GetPurchase(ctx, r.PathValue("id"))
		}), false},
		// The use case makes a refund idempotent itself (the same refund
		// answers the first), inside the refund's transaction.
		{"POST /v1/purchases/{id}/refunds", acct(licensing.ScopePurchasesWrite), func(w http.ResponseWriter, r *http.Request) error {
			var b refundBody
			if err := decodeBody(r, &b, true); err != nil {
				return err
			}
			p, err := s.b.RefundPurchase(r.Context(), licensing.RefundRequest{PurchaseID: r.PathValue("id"), Licenses: b.Licenses,
				Reason: b.Reason, DryRun: b.DryRun, Force: b.Force})
			if err != nil {
				return err
			}
			status := purchaseStatus(w, p.Replayed)
			if p.DryRun {
				status = http.StatusOK
			}
			return writeJSON(w, status, p)
		}, false},
		{"GET /v1/events", either(licensing.ScopeAuditRead, licensing.ScopeLookup), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.Event, error) {
			q := r.URL.Query()
			f := licensing.EventFilter{Type: q.Get("type")}
			if v := q.Get("since"); v != "" {
				t, err := timeParam(v, time.Time{})
				if err != nil {
					return nil, err
				}
				f.Since = &t
			}
			var err error
			if f.Limit, err = intParam(q, "limit"); err != nil {
				return nil, err
			}
			return svc.ListEvents(ctx, f)
		}), false},
		{"GET /v1/notifications", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, _ *http.Request) (*licensing.NotificationSettings, error) {
			return svc.Notifications(ctx)
		}), false},
		{"PATCH /v1/notifications", acct(licensing.ScopeLicensesWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, u licensing.NotificationUpdate, _ *http.Request) (*licensing.NotificationSettings, error) {
				return svc.SetNotifications(ctx, u)
			}), false},
		{"GET /v1/billing", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, _ *http.Request) (*licensing.Billing, error) {
			return svc.ShowBilling(ctx)
		}), false},
		{"POST /v1/billing/setup", acct(licensing.ScopePurchasesWrite), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, _ struct{}, _ *http.Request) (*licensing.Billing, error) {
				return svc.SetupBilling(ctx)
			}), false},
		{"GET /v1/payments/reconciliation", op(licensing.ScopeLookup), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) (*licensing.Reconciliation, error) {
			since, err := timeParam(r.URL.Query().Get("since"), s.clock.Now().Add(-30*24*time.Hour))
			if err != nil {
				return nil, err
			}
			return svc.ReconcilePayments(ctx, since)
		}), false},
		// The provider's own calls: the signature is their authentication.
		{"POST /v1/webhooks/stripe", public(), func(w http.ResponseWriter, r *http.Request) error {
			payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
			if err != nil {
				return licensing.Errorf(licensing.EINVALID, "the webhook body is larger than %d bytes", maxWebhookBody)
			}
			if err := s.b.HandlePaymentEvent(r.Context(), payload, r.Header.Get("Stripe-Signature")); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}, false},
		{"POST /v1/licenses/{key}/cancellation", acct(licensing.ScopeLicensesWrite), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b cancelBody, r *http.Request) (*licensing.License, error) {
				return svc.CancelLicense(ctx, r.PathValue("key"), b.Undo)
			}), true},
		{"POST /v1/maintenance/{id}/cancellation", acct(licensing.ScopeLicensesWrite), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b cancelBody, r *http.Request) (*licensing.MaintenancePlan, error) {
				return svc.CancelMaintenance(ctx, r.PathValue("id"), b.Undo)
			}), true},
	}
}
