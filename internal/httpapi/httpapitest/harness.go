// Package httpapitest puts a real licensectl server (on a loopback port) in
// front of a store, for the contract suite and other tests of the HTTP
// backend over any store.
package httpapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
)

// Store is what the harness needs of the store on the server host: the
// services over it (an *app.App).
type Store = httpapi.Backend

// Remote is the HTTP backend as the contract suite sees it: account-scoped
// calls go through the server with the acting account's token; operator
// actions (creating and disabling accounts, importing products, every
// account's renewals, rotating the signing key, suspensions, operators,
// look-ups across accounts) go through the server with an operator's token
// that has every operator scope.
type Remote struct {
	*httpapi.Client
	// Op is the client with the operator's token; it acts for the account
	// its context names, if any.
	Op     *httpapi.Client
	Store  Store
	Outbox string // where the server's mailer leaves attach codes
	URL    string // the server's base URL
}

// harnessOperator is the operator whose token Remote.Op carries.
const harnessOperator = "harness"

// Start serves store on a loopback port for the test's lifetime and returns
// the client side. The server's mailer writes to an outbox directory. Every
// request and response is checked against docs/openapi.yaml: a mismatch
// fails the test.
func Start(t testing.TB, store Store, clock licensing.Clock, opt httpapi.Options) *Remote {
	t.Helper()
	return StartChecked(t, openapicheck.LoadDoc(t), store, clock, opt)
}

// StartChecked is Start with the document already loaded, for a suite that
// starts many servers.
func StartChecked(t testing.TB, spec *openapicheck.Spec, store Store, clock licensing.Clock, opt httpapi.Options) *Remote {
	t.Helper()
	outbox := filepath.Join(t.TempDir(), "outbox")
	if opt.Mailer == nil {
		opt.Mailer = &mail.Outbox{Dir: outbox, From: "licensectl@example.org", Clock: clock}
	}
	opt.Clock = clock
	srv := httptest.NewServer(spec.Wrap(t, httpapi.NewServer(store, opt)))
	t.Cleanup(srv.Close)
	c, err := httpapi.NewClientFunc(srv.URL, TokenSource(store))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.CreateOperator(ctx, harnessOperator); err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateOperatorToken(ctx, harnessOperator, licensing.TokenRequest{Name: "contract suite"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := httpapi.NewClient(srv.URL, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return &Remote{Client: c, Op: op, Store: store, Outbox: outbox, URL: srv.URL}
}

// TokenSource acts as whichever account ctx names: it issues that account a
// token on first use, straight from the store.
func TokenSource(store licensing.TokenService) func(context.Context) (string, error) {
	var mu sync.Mutex
	tokens := map[string]string{}
	return func(ctx context.Context) (string, error) {
		email := licensing.AccountFrom(ctx)
		if email == "" {
			return "lct_none", nil
		}
		mu.Lock()
		defer mu.Unlock()
		if tok, ok := tokens[email]; ok {
			return tok, nil
		}
		tok, err := store.CreateToken(ctx, licensing.TokenRequest{})
		if err != nil {
			return "", err
		}
		tokens[email] = tok.Secret
		return tok.Secret, nil
	}
}

// CreateAccount is an operator action.
func (r *Remote) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	return r.Op.CreateAccount(ctx, email)
}

// ListAccounts is an operator action: every account.
func (r *Remote) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	return r.Op.ListAccounts(ctx)
}

// SetAccountDisabled is an operator action.
func (r *Remote) SetAccountDisabled(ctx context.Context, email string, disabled bool) (*licensing.Account, error) {
	return r.Op.SetAccountDisabled(ctx, email, disabled)
}

// AddBuild is an operator action.
func (r *Remote) AddBuild(ctx context.Context, b licensing.Build) (*licensing.Build, error) {
	return r.Op.AddBuild(ctx, b)
}

// ImportCatalog is an operator action.
func (r *Remote) ImportCatalog(ctx context.Context, ps []licensing.Product, bs []licensing.Build) (*licensing.CatalogImport, error) {
	return r.Op.ImportCatalog(ctx, ps, bs)
}

// ImportProducts is an operator action.
func (r *Remote) ImportProducts(ctx context.Context, ps []licensing.Product) (int, error) {
	return r.Op.ImportProducts(ctx, ps)
}

// RunRenewals without an acting account is the operator's run over every
// account; with one it is the account's own.
func (r *Remote) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	if licensing.AccountFrom(ctx) == "" {
		return r.Op.RunRenewals(ctx, asOf)
	}
	return r.Client.RunRenewals(ctx, asOf)
}

// DueRenewals without an acting account is the operator's preview of every
// account; with one it is the account's own.
func (r *Remote) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	if licensing.AccountFrom(ctx) == "" {
		return r.Op.DueRenewals(ctx, until)
	}
	return r.Client.DueRenewals(ctx, until)
}

// RotateSigningKey is an operator action.
func (r *Remote) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	return r.Op.RotateSigningKey(ctx)
}

// CreateOperator and the rest of licensing.OperatorService are the
// operators' (operators:write).
func (r *Remote) CreateOperator(ctx context.Context, name string) (*licensing.Operator, error) {
	return r.Op.CreateOperator(ctx, name)
}

// ListOperators leaves out the harness's own operator.
func (r *Remote) ListOperators(ctx context.Context) ([]licensing.Operator, error) {
	ops, err := r.Op.ListOperators(ctx)
	return slices.DeleteFunc(ops, func(o licensing.Operator) bool { return o.Name == harnessOperator }), err
}

// SetOperatorDisabled implements licensing.OperatorService.
func (r *Remote) SetOperatorDisabled(ctx context.Context, name string, disabled bool) (*licensing.Operator, error) {
	return r.Op.SetOperatorDisabled(ctx, name, disabled)
}

// CreateOperatorToken implements licensing.OperatorService.
func (r *Remote) CreateOperatorToken(ctx context.Context, name string, req licensing.TokenRequest) (*licensing.Token, error) {
	return r.Op.CreateOperatorToken(ctx, name, req)
}

// ListOperatorTokens implements licensing.OperatorService.
func (r *Remote) ListOperatorTokens(ctx context.Context, name string) ([]licensing.Token, error) {
	return r.Op.ListOperatorTokens(ctx, name)
}

// RevokeOperatorToken implements licensing.OperatorService.
func (r *Remote) RevokeOperatorToken(ctx context.Context, prefix string) error {
	return r.Op.RevokeOperatorToken(ctx, prefix)
}

// FindLicense is a look-up across accounts (lookup).
func (r *Remote) FindLicense(ctx context.Context, key string) (*licensing.LicenseOwner, error) {
	return r.Op.FindLicense(ctx, key)
}

// FindPurchase is a look-up across accounts (lookup).
func (r *Remote) FindPurchase(ctx context.Context, id string) (*licensing.PurchaseOwner, error) {
	return r.Op.FindPurchase(ctx, id)
}

// OutboxDir implements contract.OutboxBackend.
func (r *Remote) OutboxDir() string { return r.Outbox }

// ListAudit leaves out the token.create events of the tokens the harness
// issues behind the suite's back; the suite counts the events of its own calls.
func (r *Remote) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	evs, err := r.Client.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for _, e := range evs {
		if e.Action != "token.create" {
			out = append(out, e)
		}
	}
	return out, nil
}

// UpdateLicense sends a suspension, which account tokens may not make, and
// any change for no account, with the operator's token (for the context's
// account, if any): suspending is the vendor's.
func (r *Remote) UpdateLicense(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
	if u.Suspended != nil || licensing.AccountFrom(ctx) == "" {
		return r.Op.UpdateLicense(ctx, key, u)
	}
	return r.Client.UpdateLicense(ctx, key, u)
}

// PostWebhook sends a payment provider's webhook to a server as Stripe
// does, and answers the server's refusal as the domain error it carries.
func PostWebhook(base string, payload []byte, signature string) error {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/webhooks/stripe", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return fmt.Errorf("webhook: %s", resp.Status)
	}
	return licensing.Errorf(p.Code, "%s", p.Detail)
}
