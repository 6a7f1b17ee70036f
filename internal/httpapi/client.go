package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Client talks to a licensectl server and implements the same service
// interfaces as a local store.
type Client struct {
	base  *url.URL
	token func(ctx context.Context) (string, error)
	hc    *http.Client
	// Retries is how many times a request that may safely be repeated (a GET,
	// or a POST with an Idempotency-Key) is retried after a network error, a
	// 429 or a 502/503/504.
	Retries int
}

var (
	_ licensing.Services     = (*Client)(nil)
	_ licensing.TokenService = (*Client)(nil)
)

// NewClient returns a client for the server at baseURL using token.
func NewClient(baseURL, token string) (*Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, licensing.Errorf(licensing.EUNAUTHORIZED, "no API token for %s", baseURL).
			WithHint("run `licensectl login --api-url %s` or set LICENSECTL_API_TOKEN", baseURL)
	}
	return NewClientFunc(baseURL, func(context.Context) (string, error) { return token, nil })
}

// NewClientFunc returns a client that picks the token per request; tests use
// it to act as several accounts through one client.
func NewClientFunc(baseURL string, token func(ctx context.Context) (string, error)) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "invalid API URL %q: want http(s)://host[:port]", baseURL)
	}
	return &Client{base: u, token: token, Retries: 3, hc: &http.Client{
		Timeout: 10 * time.Minute, // a whole-store list can take a while; dialing and headers have their own limits
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
		},
	}}, nil
}

// Close implements licensing.Services.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// do sends a request and returns the response for a 2xx status; any other
// status becomes the domain error its problem document carries.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, idemKey string) (*http.Response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	token, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	retryable := method == http.MethodGet || idemKey != ""
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		resp, err := c.hc.Do(req)
		wait := time.Duration(0)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			err = licensing.Errorf(licensing.EINTERNAL, "cannot reach %s: %v", c.base.Host, unwrapURLError(err))
			wait = backoff(attempt)
		case resp.StatusCode < 300:
			return resp, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusBadGateway ||
			resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
			wait = retryAfter(resp, attempt)
			err = responseError(resp)
		default:
			return nil, responseError(resp)
		}
		if !retryable || attempt >= c.Retries || wait > 30*time.Second {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func backoff(attempt int) time.Duration {
	return time.Duration(100<<attempt) * time.Millisecond
}

func retryAfter(resp *http.Response, attempt int) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return backoff(attempt)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// responseError reads a problem document (and closes the body).
func responseError(resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p Problem
	if err := json.Unmarshal(b, &p); err != nil || p.Code == "" {
		return licensing.Errorf(licensing.EINTERNAL, "server answered %s", resp.Status)
	}
	return p.errorOf()
}

// call sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any, idemKey string) error {
	resp, err := c.do(ctx, method, path, query, body, idemKey)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return licensing.Errorf(licensing.EINTERNAL, "bad response from %s %s: %v", method, path, err)
	}
	return nil
}

// keyPath is the path of a license; an empty key would name the collection,
// so it is refused here with the store's own message.
func keyPath(key string) (string, error) {
	if strings.TrimSpace(key) == "" {
		return "", licensing.Errorf(licensing.EINVALID, "malformed license key %q", key)
	}
	return "/v1/licenses/" + url.PathEscape(key), nil
}

func pathEscape(s string) string { return url.PathEscape(s) }

// ListProducts implements licensing.CatalogService.
func (c *Client) ListProducts(ctx context.Context) ([]licensing.Product, error) {
	var out []licensing.Product
	return out, c.call(ctx, http.MethodGet, "/v1/products", nil, nil, &out, "")
}

// FindProduct implements licensing.CatalogService.
func (c *Client) FindProduct(ctx context.Context, sku string) (*licensing.Product, error) {
	var out licensing.Product
	if err := c.call(ctx, http.MethodGet, "/v1/products/"+pathEscape(sku), nil, nil, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportProducts is an operator action: not available over the API.
func (c *Client) ImportProducts(ctx context.Context, products []licensing.Product) (int, error) {
	return 0, errNotOperator
}

// CreateAccount is an operator action: creating an account attaches every
// license bought with its email, so only the server's operator may do it.
func (c *Client) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	return nil, errNotOperator
}

// ListAccounts lists the one account the token belongs to.
func (c *Client) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	var me struct {
		Email string `json:"email"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/account", nil, nil, &me, ""); err != nil {
		return nil, err
	}
	return []licensing.Account{{Email: me.Email}}, nil
}

// CreateCompany implements licensing.CompanyService.
func (c *Client) CreateCompany(ctx context.Context, name string) (*licensing.Company, error) {
	var out licensing.Company
	if err := c.call(ctx, http.MethodPost, "/v1/companies", nil, createCompanyRequest{Name: name}, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCompanies implements licensing.CompanyService.
func (c *Client) ListCompanies(ctx context.Context) ([]licensing.Company, error) {
	var out []licensing.Company
	return out, c.call(ctx, http.MethodGet, "/v1/companies", nil, nil, &out, "")
}

// Quote implements licensing.LicenseService.
func (c *Client) Quote(ctx context.Context, req licensing.BuyRequest) (*licensing.Purchase, error) {
	var out licensing.Purchase
	if err := c.call(ctx, http.MethodPost, "/v1/quotes", nil, req, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// Buy implements licensing.LicenseService. Every purchase carries an
// idempotency key (made up here when the caller gave none), so a retry after
// a lost answer returns the purchase instead of buying twice.
func (c *Client) Buy(ctx context.Context, req licensing.BuyRequest, progress func(int)) (*licensing.Purchase, error) {
	if req.IdempotencyKey == "" {
		k, err := newIdempotencyKey()
		if err != nil {
			return nil, err
		}
		req.IdempotencyKey = k
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/purchases", nil, req, req.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out licensing.Purchase
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, licensing.Errorf(licensing.EINTERNAL, "bad purchase from server: %v", err)
	}
	if progress != nil {
		progress(len(out.Licenses))
	}
	return &out, nil
}

// newIdempotencyKey makes a key for a purchase whose caller gave none, so
// that the client's own retries cannot buy twice.
func newIdempotencyKey() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "auto-" + hex.EncodeToString(b), nil
}

// FilterQuery encodes a license filter as query parameters.
func FilterQuery(f licensing.LicenseFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("company", f.Company)
	set("kind", f.Kind)
	set("validity", f.Validity)
	set("usage", f.Usage)
	set("status", f.Status)
	set("maintenance", f.Maintenance)
	set("product", f.Product)
	set("search", f.Search)
	if f.Pool {
		q.Set("pool", "true")
	}
	if f.AutoRenew {
		q.Set("auto_renew", "true")
	}
	var sorts []string
	for _, s := range f.Sort {
		if s.Desc {
			sorts = append(sorts, "-"+s.Field)
		} else {
			sorts = append(sorts, s.Field)
		}
	}
	set("sort", strings.Join(sorts, ","))
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	return q
}

// ListLicenses implements licensing.LicenseService, decoding the streamed
// array one license at a time.
func (c *Client) ListLicenses(ctx context.Context, f licensing.LicenseFilter, fn func(*licensing.License) error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/licenses", FilterQuery(f), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return licensing.Errorf(licensing.EINTERNAL, "bad license list from server: %v", err)
	}
	for dec.More() {
		l := new(licensing.License)
		if err := dec.Decode(l); err != nil {
			return licensing.Errorf(licensing.EINTERNAL, "license list cut short: %v", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return licensing.Errorf(licensing.EINTERNAL, "license list cut short: %v", err)
	}
	return nil
}

// GroupLicenses implements licensing.LicenseService.
func (c *Client) GroupLicenses(ctx context.Context, f licensing.LicenseFilter) ([]licensing.LicenseGroup, error) {
	var out []licensing.LicenseGroup
	return out, c.call(ctx, http.MethodGet, "/v1/license-groups", FilterQuery(f), nil, &out, "")
}

// GetLicense implements licensing.LicenseService.
func (c *Client) GetLicense(ctx context.Context, key string) (*licensing.LicenseDetail, error) {
	path, err := keyPath(key)
	if err != nil {
		return nil, err
	}
	var out licensing.LicenseDetail
	if err := c.call(ctx, http.MethodGet, path, nil, nil, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateLicense implements licensing.LicenseService.
func (c *Client) UpdateLicense(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
	path, err := keyPath(key)
	if err != nil {
		return nil, err
	}
	var out licensing.License
	if err := c.call(ctx, http.MethodPatch, path, nil, u, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAudit implements licensing.AuditService.
func (c *Client) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	q := url.Values{}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.Object != "" {
		q.Set("object", f.Object)
	}
	if f.Since != nil {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if f.Limit < 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "limit must not be negative")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []licensing.AuditEvent
	return out, c.call(ctx, http.MethodGet, "/v1/audit", q, nil, &out, "")
}

// CreateToken implements licensing.TokenService.
func (c *Client) CreateToken(ctx context.Context) (*licensing.Token, error) {
	var out licensing.Token
	if err := c.call(ctx, http.MethodPost, "/v1/tokens", nil, nil, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTokens implements licensing.TokenService.
func (c *Client) ListTokens(ctx context.Context) ([]licensing.Token, error) {
	var out []licensing.Token
	return out, c.call(ctx, http.MethodGet, "/v1/tokens", nil, nil, &out, "")
}

// RevokeToken implements licensing.TokenService.
func (c *Client) RevokeToken(ctx context.Context, prefix string) error {
	return c.call(ctx, http.MethodDelete, "/v1/tokens/"+pathEscape(prefix), nil, nil, nil, "")
}

// Authenticate is the server's business; a client can only ask who it is.
func (c *Client) Authenticate(ctx context.Context, secret string) (string, error) {
	cc := *c
	cc.token = func(context.Context) (string, error) { return secret, nil }
	as, err := cc.ListAccounts(ctx)
	if err != nil {
		return "", err
	}
	return as[0].Email, nil
}
