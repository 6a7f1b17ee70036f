package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var (
	_ licensing.AttachService      = (*Client)(nil)
	_ licensing.MaintenanceService = (*Client)(nil)
	_ licensing.RenewalService     = (*Client)(nil)
	_ licensing.ActivationService  = (*Client)(nil)
)

// post sends a JSON body and decodes the answer into a new T.
func post[T any](c *Client, ctx context.Context, path string, body any, idemKey string) (*T, error) {
	out := new(T)
	if err := c.call(ctx, http.MethodPost, path, nil, body, out, idemKey); err != nil {
		return nil, err
	}
	return out, nil
}

// get decodes the answer of a GET into a new T.
func get[T any](c *Client, ctx context.Context, path string, q url.Values) (*T, error) {
	out := new(T)
	if err := c.call(ctx, http.MethodGet, path, q, nil, out, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// RequestAttach implements licensing.AttachService. The server sends the
// code with its own mailer; mailer is ignored.
func (c *Client) RequestAttach(ctx context.Context, req licensing.AttachRequest, _ licensing.Mailer) (*licensing.AttachPending, error) {
	return post[licensing.AttachPending](c, ctx, "/v1/attach-requests", req, "")
}

// ConfirmAttach implements licensing.AttachService.
func (c *Client) ConfirmAttach(ctx context.Context, code string) (*licensing.AttachResult, error) {
	return post[licensing.AttachResult](c, ctx, "/v1/attach-confirmations", attachConfirmBody{Code: code}, "")
}

// QuoteMaintenance implements licensing.MaintenanceService.
func (c *Client) QuoteMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error) {
	return post[licensing.MaintenancePurchase](c, ctx, "/v1/maintenance-quotes", req, "")
}

// BuyMaintenance implements licensing.MaintenanceService; like Buy it always
// sends an idempotency key, so the purchase may be retried safely.
func (c *Client) BuyMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest, progress func(int)) (*licensing.MaintenancePurchase, error) {
	if req.IdempotencyKey == "" {
		k, err := newIdempotencyKey()
		if err != nil {
			return nil, err
		}
		req.IdempotencyKey = k
	}
	p, err := post[licensing.MaintenancePurchase](c, ctx, "/v1/maintenance-purchases", req, req.IdempotencyKey)
	if err == nil && progress != nil {
		progress(p.Count)
	}
	return p, err
}

// ListMaintenance implements licensing.MaintenanceService.
func (c *Client) ListMaintenance(ctx context.Context, f licensing.MaintenanceFilter) ([]licensing.MaintenancePlan, error) {
	q := url.Values{}
	if f.Available {
		q.Set("available", "true")
	}
	if f.License != "" {
		q.Set("license", f.License)
	}
	out, err := get[[]licensing.MaintenancePlan](c, ctx, "/v1/maintenance", q)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// AssignMaintenance implements licensing.MaintenanceService.
func (c *Client) AssignMaintenance(ctx context.Context, id, key string) (*licensing.MaintenancePlan, error) {
	if id == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "a maintenance plan id is required")
	}
	return post[licensing.MaintenancePlan](c, ctx, "/v1/maintenance/"+pathEscape(id)+"/assignment", assignBody{Key: key}, "")
}

// UpdateMaintenance implements licensing.MaintenanceService.
func (c *Client) UpdateMaintenance(ctx context.Context, id string, u licensing.MaintenanceUpdate) (*licensing.MaintenancePlan, error) {
	if id == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "a maintenance plan id is required")
	}
	out := new(licensing.MaintenancePlan)
	return out, c.call(ctx, http.MethodPatch, "/v1/maintenance/"+pathEscape(id), nil, u, out, "")
}

// RunRenewals implements licensing.RenewalService for the token's account,
// up to the server's clock.
func (c *Client) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	return post[licensing.RenewalRun](c, ctx, "/v1/renewal-runs", renewalRunBody{AsOf: new(asOf.UTC().Format(time.RFC3339))}, "")
}

// DueRenewals implements licensing.RenewalService.
func (c *Client) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	out, err := get[[]licensing.Renewal](c, ctx, "/v1/renewals", url.Values{"until": {until.UTC().Format(time.RFC3339)}})
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// Activate implements licensing.ActivationService.
func (c *Client) Activate(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
	return post[licensing.Activation](c, ctx, "/v1/activations", r, "")
}

// Deactivate implements licensing.ActivationService.
func (c *Client) Deactivate(ctx context.Context, r licensing.DeactivateRequest) (*licensing.Activation, error) {
	return post[licensing.Activation](c, ctx, "/v1/deactivations",
		deactivateBody{ID: r.ID, LicenseKey: r.LicenseKey, Fingerprint: r.Fingerprint, Force: r.Force}, "")
}

// ListActivations implements licensing.ActivationService.
func (c *Client) ListActivations(ctx context.Context, f licensing.ActivationFilter) ([]licensing.Activation, error) {
	q := url.Values{}
	if f.LicenseKey != "" {
		q.Set("license", f.LicenseKey)
	}
	if f.Machine != "" {
		q.Set("machine", f.Machine)
	}
	if f.Offline {
		q.Set("offline", strconv.FormatBool(true))
	}
	switch {
	case f.Stale > 0:
		q.Set("stale", strconv.FormatInt(int64(max(f.Stale/time.Second, 1)), 10))
	case f.Stale < 0:
		q.Set("stale", strconv.FormatInt(int64(min(f.Stale/time.Second, -1)), 10)) // the server says why not
	}
	out, err := get[[]licensing.Activation](c, ctx, "/v1/activations", q)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// ValidateLicense implements licensing.ActivationService.
func (c *Client) ValidateLicense(ctx context.Context, key, fingerprint, version string) (*licensing.Validation, error) {
	path, err := keyPath(key)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if fingerprint != "" {
		q.Set("fingerprint", fingerprint)
	}
	if version != "" {
		q.Set("version", version)
	}
	return get[licensing.Validation](c, ctx, path+"/validation", q)
}

// ActivateOffline implements licensing.ActivationService.
func (c *Client) ActivateOffline(ctx context.Context, request []byte) (*licensing.OfflineActivation, error) {
	return post[licensing.OfflineActivation](c, ctx, "/v1/offline-activations", requestFileBody{Request: string(request)}, "")
}

// ReleaseOffline implements licensing.ActivationService.
func (c *Client) ReleaseOffline(ctx context.Context, proof []byte) (*licensing.Activation, error) {
	return post[licensing.Activation](c, ctx, "/v1/offline-releases", proofFileBody{Proof: string(proof)}, "")
}

// SigningKeys implements licensing.ActivationService: public keys only.
func (c *Client) SigningKeys(ctx context.Context) ([]licensing.SigningKey, error) {
	out, err := get[[]licensing.SigningKey](c, ctx, "/v1/signing-keys", nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// RotateSigningKey implements licensing.ActivationService (an operator's
// token with keys:write): the signing key is the vendor's, shared by every
// account.
func (c *Client) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	return post[licensing.SigningKey](c, ctx, "/v1/signing-keys", nil, "")
}

// CreateOperator implements licensing.OperatorService.
func (c *Client) CreateOperator(ctx context.Context, name string) (*licensing.Operator, error) {
	return post[licensing.Operator](c, ctx, "/v1/operators", createOperatorBody{Name: name}, "")
}

// ListOperators implements licensing.OperatorService.
func (c *Client) ListOperators(ctx context.Context) ([]licensing.Operator, error) {
	out, err := get[[]licensing.Operator](c, ctx, "/v1/operators", nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// SetOperatorDisabled implements licensing.OperatorService.
func (c *Client) SetOperatorDisabled(ctx context.Context, name string, disabled bool) (*licensing.Operator, error) {
	out := new(licensing.Operator)
	return out, c.call(ctx, http.MethodPatch, "/v1/operators/"+pathEscape(name), nil, disabledBody{Disabled: disabled}, out, "")
}

// CreateOperatorToken implements licensing.OperatorService.
func (c *Client) CreateOperatorToken(ctx context.Context, name string, req licensing.TokenRequest) (*licensing.Token, error) {
	return c.newToken(ctx, "/v1/operators/"+pathEscape(name)+"/tokens", req)
}

// ListOperatorTokens implements licensing.OperatorService.
func (c *Client) ListOperatorTokens(ctx context.Context, name string) ([]licensing.Token, error) {
	out, err := get[[]licensing.Token](c, ctx, "/v1/operators/"+pathEscape(name)+"/tokens", nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// RevokeOperatorToken implements licensing.OperatorService.
func (c *Client) RevokeOperatorToken(ctx context.Context, prefix string) error {
	return c.call(ctx, http.MethodDelete, "/v1/operator-tokens/"+pathEscape(prefix), nil, nil, nil, "")
}

// FindLicense implements licensing.LookupService.
func (c *Client) FindLicense(ctx context.Context, key string) (*licensing.LicenseOwner, error) {
	if _, err := keyPath(key); err != nil {
		return nil, err
	}
	return get[licensing.LicenseOwner](c, ctx, "/v1/lookup/licenses/"+pathEscape(key), nil)
}

// FindPurchase implements licensing.LookupService.
func (c *Client) FindPurchase(ctx context.Context, purchaseID string) (*licensing.PurchaseOwner, error) {
	if strings.TrimSpace(purchaseID) == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "malformed purchase ID %q", purchaseID)
	}
	return get[licensing.PurchaseOwner](c, ctx, "/v1/lookup/purchases/"+pathEscape(purchaseID), nil)
}

// Heartbeat implements licensing.ActivationService.
func (c *Client) Heartbeat(ctx context.Context, id int64) (*licensing.Activation, error) {
	return post[licensing.Activation](c, ctx, "/v1/activations/"+strconv.FormatInt(id, 10)+"/heartbeat", nil, "")
}

// ReleaseStale implements licensing.ActivationService.
func (c *Client) ReleaseStale(ctx context.Context, stale time.Duration, dryRun bool) ([]licensing.Activation, error) {
	out, err := post[[]licensing.Activation](c, ctx, "/v1/activation-releases",
		staleReleaseBody{StaleSeconds: int64(stale / time.Second), DryRun: dryRun}, "")
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// ListPurchases implements licensing.MoneyService.
func (c *Client) ListPurchases(ctx context.Context, f licensing.PurchaseFilter) ([]licensing.PurchaseRow, error) {
	q := url.Values{}
	if f.Kind != "" {
		q.Set("kind", f.Kind)
	}
	if f.Company != "" {
		q.Set("company", f.Company)
	}
	if f.Since != nil {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	out, err := get[[]licensing.PurchaseRow](c, ctx, "/v1/purchases", q)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// GetPurchase implements licensing.MoneyService.
func (c *Client) GetPurchase(ctx context.Context, id string) (*licensing.PurchaseDetail, error) {
	id, err := licensing.NormalizePurchaseID(id)
	if err != nil {
		return nil, err
	}
	return get[licensing.PurchaseDetail](c, ctx, "/v1/purchases/"+pathEscape(id), nil)
}

// RefundPurchase implements licensing.MoneyService.
func (c *Client) RefundPurchase(ctx context.Context, req licensing.RefundRequest) (*licensing.Purchase, error) {
	id, err := licensing.NormalizePurchaseID(req.PurchaseID)
	if err != nil {
		return nil, err
	}
	return post[licensing.Purchase](c, ctx, "/v1/purchases/"+pathEscape(id)+"/refunds",
		refundBody{Licenses: req.Licenses, Reason: req.Reason, DryRun: req.DryRun, Force: req.Force}, "")
}

// CancelLicense implements licensing.MoneyService.
func (c *Client) CancelLicense(ctx context.Context, key string, undo bool) (*licensing.License, error) {
	if _, err := keyPath(key); err != nil {
		return nil, err
	}
	return post[licensing.License](c, ctx, "/v1/licenses/"+pathEscape(key)+"/cancellation", cancelBody{Undo: undo}, "")
}

// CancelMaintenance implements licensing.MoneyService.
func (c *Client) CancelMaintenance(ctx context.Context, id string, undo bool) (*licensing.MaintenancePlan, error) {
	if strings.TrimSpace(id) == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "malformed maintenance plan ID %q", id)
	}
	return post[licensing.MaintenancePlan](c, ctx, "/v1/maintenance/"+pathEscape(strings.TrimSpace(id))+"/cancellation", cancelBody{Undo: undo}, "")
}

// ShowBilling implements licensing.PaymentService.
func (c *Client) ShowBilling(ctx context.Context) (*licensing.Billing, error) {
	return get[licensing.Billing](c, ctx, "/v1/billing", nil)
}

// SetupBilling implements licensing.PaymentService.
func (c *Client) SetupBilling(ctx context.Context) (*licensing.Billing, error) {
	return post[licensing.Billing](c, ctx, "/v1/billing/setup", nil, "")
}

// ReconcilePayments implements licensing.PaymentService.
func (c *Client) ReconcilePayments(ctx context.Context, since time.Time) (*licensing.Reconciliation, error) {
	return get[licensing.Reconciliation](c, ctx, "/v1/payments/reconciliation", url.Values{"since": {since.UTC().Format(time.RFC3339)}})
}

// HandlePaymentEvent implements licensing.PaymentService: the provider
// sends webhooks to the server itself, never through a client.
func (c *Client) HandlePaymentEvent(context.Context, []byte, string) error {
	return licensing.Errorf(licensing.EINVALID, "payment webhooks go to the server's POST /v1/webhooks/stripe")
}

// AddBuild implements licensing.BuildService (an operator's token with
// catalog:write).
func (c *Client) AddBuild(ctx context.Context, b licensing.Build) (*licensing.Build, error) {
	return post[licensing.Build](c, ctx, "/v1/builds", buildBodyOf(b), "")
}

// ListBuilds implements licensing.BuildService.
func (c *Client) ListBuilds(ctx context.Context, sku string) ([]licensing.Build, error) {
	q := url.Values{}
	if sku != "" {
		q.Set("product", sku)
	}
	var out []licensing.Build
	return out, c.call(ctx, http.MethodGet, "/v1/builds", q, nil, &out, "")
}

// ImportCatalog implements licensing.BuildService (an operator's token
// with catalog:write).
func (c *Client) ImportCatalog(ctx context.Context, products []licensing.Product, builds []licensing.Build) (*licensing.CatalogImport, error) {
	body := importBody{Products: products}
	if body.Products == nil {
		body.Products = []licensing.Product{}
	}
	for _, b := range builds {
		body.Builds = append(body.Builds, buildBodyOf(b))
	}
	out, err := post[importResult](c, ctx, "/v1/products", body, "")
	if err != nil {
		return nil, err
	}
	return &licensing.CatalogImport{Products: out.Imported, Builds: out.Builds}, nil
}

func downloadQuery(r licensing.DownloadRequest) url.Values {
	q := url.Values{}
	if r.OS != "" {
		q.Set("os", r.OS)
	}
	if r.Version != "" {
		q.Set("version", r.Version)
	}
	return q
}

// Download implements licensing.BuildService.
func (c *Client) Download(ctx context.Context, r licensing.DownloadRequest) (*licensing.Download, error) {
	path, err := keyPath(r.Key)
	if err != nil {
		return nil, err
	}
	return get[licensing.Download](c, ctx, path+"/download", downloadQuery(r))
}

// OpenDownload implements licensing.BuildService: the build's metadata,
// then its bytes from offset on (Range, with If-Range on its SHA-256 so a
// build replaced meanwhile starts again from 0). An upstream build comes
// by the server's redirect to a signed URL; the token is not sent there.
func (c *Client) OpenDownload(ctx context.Context, r licensing.DownloadRequest, offset int64) (*licensing.Download, *licensing.DownloadBody, error) {
	d, err := c.Download(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	path, _ := keyPath(r.Key)
	q := downloadQuery(licensing.DownloadRequest{OS: d.Target, Version: d.Version})
	u := *c.base
	u.Path, u.RawPath = u.Path+path+"/download/file", ""
	u.RawQuery = q.Encode()
	token, err := c.token(ctx)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if account := licensing.AccountFrom(ctx); account != "" {
		req.Header.Set(AccountHeader, account)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		req.Header.Set("If-Range", strconv.Quote(d.SHA256))
	}
	resp, err := c.downloads().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, licensing.Errorf(licensing.EUNAVAILABLE, "download from %s: %v", c.base.Host, unwrapURLError(err))
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return d, &licensing.DownloadBody{ReadCloser: resp.Body, Offset: 0}, nil
	case http.StatusPartialContent:
		return d, &licensing.DownloadBody{ReadCloser: resp.Body, Offset: offset}, nil
	case http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		return c.OpenDownload(ctx, r, 0)
	}
	if resp.Header.Get("Content-Type") == "application/problem+json" || resp.Request.URL.Host == c.base.Host {
		return nil, nil, responseError(resp)
	}
	defer resp.Body.Close()
	return nil, nil, licensing.Errorf(licensing.EUNAVAILABLE, "download from %s: %s", resp.Request.URL.Host, resp.Status)
}

// downloads is the HTTP client for a build's bytes: the API client's
// connections without its overall time limit (a large build takes as
// long as it takes; dialing and headers keep their limits).
func (c *Client) downloads() *http.Client {
	return &http.Client{Transport: c.hc.Transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if req.URL.Host != c.base.Host { // a mirror gets neither the token nor the account (net/http keeps them for another port)
			req.Header.Del("Authorization")
			req.Header.Del(AccountHeader)
			req.Header.Del("If-Range") // the ETag is ours, not the mirror's; the SHA-256 check still guards the bytes
		}
		return nil
	}}
}

// ListEvents implements licensing.EventService.
func (c *Client) ListEvents(ctx context.Context, f licensing.EventFilter) ([]licensing.Event, error) {
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.Since != nil {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	out, err := get[[]licensing.Event](c, ctx, "/v1/events", q)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// Notifications implements licensing.NotificationService.
func (c *Client) Notifications(ctx context.Context) (*licensing.NotificationSettings, error) {
	return get[licensing.NotificationSettings](c, ctx, "/v1/notifications", nil)
}

// SetNotifications implements licensing.NotificationService.
func (c *Client) SetNotifications(ctx context.Context, u licensing.NotificationUpdate) (*licensing.NotificationSettings, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	var out licensing.NotificationSettings
	if err := c.call(ctx, http.MethodPatch, "/v1/notifications", nil, u, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}
