package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Client talks to a licensectl server and implements the same service
// interfaces as a local store.
type Client struct {
	base  *url.URL
	token func(ctx context.Context) (string, error)
	hc    *http.Client
	// RetryFor is how long the client keeps retrying, after a request first
	// failed for a reason that passes (a server restarting or unreachable:
	// connection refused or reset, 502/503/504; a rate limit: 429). Only
	// requests that may safely be repeated are retried: every GET, and every
	// request that carries an Idempotency-Key (every POST, PATCH and DELETE
	// does, see do), besides any request that provably never reached the
	// server. Zero means DefaultRetryFor; negative, no retries.
	RetryFor time.Duration
	// Notify, when set, is told before each wait why the client retries
	// ("server unavailable"), for a terminal to show.
	Notify func(reason string)
}

// DefaultRetryFor is the default of Client.RetryFor (config http.retry_for):
// long enough for a server or PostgreSQL restart.
const DefaultRetryFor = 15 * time.Second

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
	return &Client{base: u, token: token, hc: &http.Client{
		Timeout: 10 * time.Minute, // a whole-store list can take a while; dialing and headers have their own limits
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			// A write may wait up to a minute for a SQLite store's write
			// lock before its own work: as long as the server's WriteTimeout.
			ResponseHeaderTimeout: 2 * time.Minute,
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
// status becomes the domain error its problem document carries. Every
// request that is not a GET carries an Idempotency-Key (idemKey, or one made
// up here), the same on each retry, so that a retry after a lost answer is
// answered by the server with the first outcome instead of doing it twice.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, idemKey string) (*http.Response, error) {
	if method != http.MethodGet && idemKey == "" {
		k, err := newIdempotencyKey()
		if err != nil {
			return nil, err
		}
		idemKey = k
	}
	return c.send(ctx, method, path, query, body, idemKey)
}

// send is do without the made-up key: a request without idemKey that is not
// a GET is retried only when it never reached the server.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any, idemKey string) (*http.Response, error) {
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
	// path comes escaped (pathEscape): keep that escaping rather than
	// escape its '%' again.
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "invalid request path %q", path)
	}
	u.Path, u.RawPath = u.Path+unescaped, c.base.EscapedPath()+path
	u.RawQuery = query.Encode()
	repeatable := method == http.MethodGet || idemKey != ""
	retryFor := c.RetryFor
	if retryFor == 0 {
		retryFor = DefaultRetryFor
	}
	var deadline time.Time // set at the first failure
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if account := licensing.AccountFrom(ctx); account != "" {
			// The server checks it: an operator's token acts for this
			// account; an account's token must belong to it.
			req.Header.Set(AccountHeader, account)
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		resp, err := c.hc.Do(req)
		var wait time.Duration
		var reason string
		mayRetry := repeatable
		told := false // the server said how long to wait: asked
		var asked time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			cause := unwrapURLError(err)
			if !temporaryNetError(cause) {
				return nil, licensing.Errorf(licensing.EINTERNAL, "cannot reach %s: %v", c.base.Host, cause)
			}
			err = licensing.Errorf(licensing.EUNAVAILABLE, "cannot reach %s: %v", c.base.Host, cause).
				WithHint("check that the server is running and that the API URL is right; a server restarting is back within seconds: try again")
			mayRetry = mayRetry || neverSent(cause)
			reason = "cannot reach " + c.base.Host
			wait = backoff(attempt)
		case resp.StatusCode < 300:
			return resp, nil
		case temporaryStatus(resp.StatusCode):
			wait, told = retryAfter(resp)
			if told {
				asked = wait
				wait += mathrand.N(250 * time.Millisecond)
			} else {
				wait = backoff(attempt)
			}
			reason = "server unavailable"
			if resp.StatusCode == http.StatusTooManyRequests {
				reason = "rate limited"
			}
			err = responseError(resp)
		default:
			return nil, responseError(resp)
		}
		if !mayRetry || retryFor < 0 {
			return nil, err
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(retryFor)
		}
		left := deadline.Sub(now)
		if wait > left {
			if left <= 0 || told && asked > left {
				return nil, err // time is up, or the server asks for longer than we retry
			}
			wait = left // one last try at the deadline
		}
		if c.Notify != nil {
			c.Notify(reason)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is the pause before retry attempt+1 after a failure that said
// nothing about when to retry: exponential (250 ms, 500 ms, 1 s ... up to
// 4 s) with jitter, so that the clients of a restarting server do not all
// come back at the same moment.
func backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 4)
	return d/2 + mathrand.N(d/2+1)
}

// retryAfter reads Retry-After: seconds, or an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(time.Until(t), 0)
	} else {
		return 0, false
	}
	return d, true
}

// temporaryStatus is an answer that says the request was not carried out
// but may be later: rate limited, or the server (or a proxy's upstream)
// unavailable.
func temporaryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// temporaryNetError tells a failure to talk to the server that may pass (it
// is down, restarting or overloaded) from one that will not (a host name
// that does not exist, a certificate that does not verify, a server that
// does not speak HTTP).
func temporaryNetError(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	}
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var recordErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &recordErr) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// neverSent tells an error that happened before the request was sent (the
// connection could not be made), so that even a request the server could
// not recognise as a repeat may be retried.
func neverSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
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
		if temporaryStatus(resp.StatusCode) {
			// A proxy in front of the server answered: still a failure that passes.
			return licensing.Errorf(licensing.EUNAVAILABLE, "server answered %s", resp.Status).
				WithHint("the server or a proxy in front of it is overloaded or restarting; try again")
		}
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

// ImportProducts implements licensing.CatalogService (an operator's token
// with catalog:write).
func (c *Client) ImportProducts(ctx context.Context, products []licensing.Product) (int, error) {
	out, err := post[importResult](c, ctx, "/v1/products", importBody{Products: products}, "")
	if err != nil {
		return 0, err
	}
	return out.Imported, nil
}

// CreateAccount implements licensing.AccountService (an operator's token
// with accounts:write): creating an account attaches every license bought
// with its email, so only the vendor may do it.
func (c *Client) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	return post[licensing.Account](c, ctx, "/v1/accounts", createAccountBody{Email: email}, "")
}

// ListAccounts lists every account for an operator's token (lookup), and
// the one account an account's token belongs to.
func (c *Client) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	if c.operatorToken(ctx) {
		out, err := get[[]licensing.Account](c, ctx, "/v1/accounts", nil)
		if err != nil {
			return nil, err
		}
		return *out, nil
	}
	me, err := c.Whoami(ctx)
	if err != nil {
		return nil, err
	}
	return []licensing.Account{{Email: me.Email}}, nil
}

// Whoami answers what the client's token is, and the account it acts for.
func (c *Client) Whoami(ctx context.Context) (*licensing.Whoami, error) {
	return get[licensing.Whoami](c, ctx, "/v1/account", nil)
}

// operatorToken tells whether the client's token is an operator's.
func (c *Client) operatorToken(ctx context.Context) bool {
	t, err := c.token(ctx)
	return err == nil && isOperatorToken(t)
}

// SetAccountDisabled implements licensing.AccountAdminService.
func (c *Client) SetAccountDisabled(ctx context.Context, email string, disabled bool) (*licensing.Account, error) {
	out := new(licensing.Account)
	return out, c.call(ctx, http.MethodPatch, "/v1/accounts/"+pathEscape(email), nil, disabledBody{Disabled: disabled}, out, "")
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
	if f.IncludeRevoked {
		q.Set("include_revoked", "true")
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
func (c *Client) CreateToken(ctx context.Context, req licensing.TokenRequest) (*licensing.Token, error) {
	return c.newToken(ctx, "/v1/tokens", req)
}

// newToken posts a token request. It sends no Idempotency-Key: the server
// never stores an answer holding a secret, so it could not replay one; the
// request is retried only when it never reached the server.
func (c *Client) newToken(ctx context.Context, path string, req licensing.TokenRequest) (*licensing.Token, error) {
	resp, err := c.send(ctx, http.MethodPost, path, nil, tokenBodyOf(req), "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out licensing.Token
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, licensing.Errorf(licensing.EINTERNAL, "bad token from server: %v", err)
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
func (c *Client) Authenticate(ctx context.Context, secret string) (licensing.Principal, error) {
	cc := *c
	cc.token = func(context.Context) (string, error) { return secret, nil }
	me, err := cc.Whoami(ctx)
	if err != nil {
		return licensing.Principal{}, err
	}
	return licensing.Principal{Kind: me.Kind, Email: me.Email, Operator: me.Operator, Scopes: me.Scopes,
		Token: me.Token, ExpiresAt: me.ExpiresAt}, nil
}
