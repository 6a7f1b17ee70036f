package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/licensectl/licensectl/internal/licensing"
)

// idParam reads a numeric path parameter.
func idParam(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, licensing.Errorf(licensing.EINVALID, "invalid %s id %q", what, licensing.ClipArg(v))
	}
	return n, nil
}

// webhookRoutes are the account's webhook endpoints and their deliveries.
func (s *Server) webhookRoutes() []route {
	return []route{
		{"GET /v1/webhooks", acct(licensing.ScopeWebhooks), withQuery(s, func(ctx context.Context, svc Backend, _ *http.Request) ([]licensing.Webhook, error) {
			return svc.ListWebhooks(ctx)
		}), false},
		{"POST /v1/webhooks", acct(licensing.ScopeWebhooks), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, req licensing.WebhookCreate, _ *http.Request) (*licensing.Webhook, error) {
				return svc.CreateWebhook(ctx, req)
			}), false},
		{"DELETE /v1/webhooks/{id}", acct(licensing.ScopeWebhooks), func(w http.ResponseWriter, r *http.Request) error {
			id, err := idParam(r, "id", "webhook")
			if err != nil {
				return err
			}
			if err := s.b.DeleteWebhook(r.Context(), id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}, false},
		{"POST /v1/webhooks/{id}/enable", acct(licensing.ScopeWebhooks), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, _ struct{}, r *http.Request) (*licensing.Webhook, error) {
				id, err := idParam(r, "id", "webhook")
				if err != nil {
					return nil, err
				}
				return svc.EnableWebhook(ctx, id)
			}), false},
		{"POST /v1/webhooks/{id}/test", acct(licensing.ScopeWebhooks), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, _ struct{}, r *http.Request) (*licensing.WebhookTest, error) {
				id, err := idParam(r, "id", "webhook")
				if err != nil {
					return nil, err
				}
				return svc.TestWebhook(ctx, id)
			}), false},
		{"GET /v1/webhook-deliveries", acct(licensing.ScopeWebhooks), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.WebhookDelivery, error) {
			q := r.URL.Query()
			var f licensing.DeliveryFilter
			var err error
			if v := q.Get("webhook"); v != "" {
				if f.Webhook, err = strconv.ParseInt(v, 10, 64); err != nil || f.Webhook <= 0 {
					return nil, licensing.Errorf(licensing.EINVALID, "query parameter webhook: want a webhook id")
				}
			}
			if f.Failed, err = boolParam(q, "failed"); err != nil {
				return nil, err
			}
			if f.Limit, err = intParam(q, "limit"); err != nil {
				return nil, err
			}
			return svc.ListDeliveries(ctx, f)
		}), false},
		{"POST /v1/webhook-deliveries/{id}/redelivery", acct(licensing.ScopeWebhooks), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, _ struct{}, r *http.Request) (*licensing.WebhookDelivery, error) {
				id, err := idParam(r, "id", "delivery")
				if err != nil {
					return nil, err
				}
				return svc.Redeliver(ctx, id)
			}), false},
	}
}

// CreateWebhook implements licensing.WebhookService.
func (c *Client) CreateWebhook(ctx context.Context, req licensing.WebhookCreate) (*licensing.Webhook, error) {
	return post[licensing.Webhook](c, ctx, "/v1/webhooks", req, "")
}

// ListWebhooks implements licensing.WebhookService.
func (c *Client) ListWebhooks(ctx context.Context) ([]licensing.Webhook, error) {
	out, err := get[[]licensing.Webhook](c, ctx, "/v1/webhooks", nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// DeleteWebhook implements licensing.WebhookService.
func (c *Client) DeleteWebhook(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, "/v1/webhooks/"+strconv.FormatInt(id, 10), nil, nil, nil, "")
}

// EnableWebhook implements licensing.WebhookService.
func (c *Client) EnableWebhook(ctx context.Context, id int64) (*licensing.Webhook, error) {
	return post[licensing.Webhook](c, ctx, "/v1/webhooks/"+strconv.FormatInt(id, 10)+"/enable", nil, "")
}

// TestWebhook implements licensing.WebhookService.
func (c *Client) TestWebhook(ctx context.Context, id int64) (*licensing.WebhookTest, error) {
	return post[licensing.WebhookTest](c, ctx, "/v1/webhooks/"+strconv.FormatInt(id, 10)+"/test", nil, "")
}

// ListDeliveries implements licensing.WebhookService.
func (c *Client) ListDeliveries(ctx context.Context, f licensing.DeliveryFilter) ([]licensing.WebhookDelivery, error) {
	if f.ID != 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "one delivery by id is not an API call")
	}
	q := url.Values{}
	if f.Webhook != 0 {
		q.Set("webhook", strconv.FormatInt(f.Webhook, 10))
	}
	if f.Failed {
		q.Set("failed", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	out, err := get[[]licensing.WebhookDelivery](c, ctx, "/v1/webhook-deliveries", q)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// Redeliver implements licensing.WebhookService.
func (c *Client) Redeliver(ctx context.Context, id int64) (*licensing.WebhookDelivery, error) {
	return post[licensing.WebhookDelivery](c, ctx, "/v1/webhook-deliveries/"+strconv.FormatInt(id, 10)+"/redelivery", nil, "")
}
