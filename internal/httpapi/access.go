package httpapi

import (
	"context"
	"slices"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

// AccountHeader names the account an operator's token acts for, as
// Stripe-Account does for a platform acting for a connected account. With
// an account's token it may only name that account.
const AccountHeader = "Licensectl-Account"

// anyScope is a route any token may call (who am I).
const anyScope licensing.Scope = "*"

// access is who may call a route. Every route has one; it is the only
// place a permission is decided over the API, and docs/permissions.md and
// the permission matrix test are generated from it.
type access struct {
	public bool
	// acct is the scope an account's token needs ("" when only operators
	// may call the route). An operator with the impersonate scope calls it
	// on an account's behalf (Licensectl-Account) as that account's own
	// default token would.
	acct licensing.Scope
	// op is the scope an operator's token needs to call the route acting
	// for no account ("" when an operator calls it only on an account's
	// behalf).
	op licensing.Scope
}

// public is a route anyone may call, without a token.
func public() access { return access{public: true} }

// acct is a route of an account's data.
func acct(scope licensing.Scope) access { return access{acct: scope} }

// op is an operator's route.
func op(scope licensing.Scope) access { return access{op: scope} }

// either is an account's route that an operator may also call for every
// account at once.
func either(account, operator licensing.Scope) access { return access{acct: account, op: operator} }

// authorize decides whether p may call a route of access a, and answers
// the context the handler runs with: the principal with its effective
// scopes and the acting account. onBehalf is the Licensectl-Account header.
func authorize(ctx context.Context, a access, p licensing.Principal, onBehalf string) (context.Context, error) {
	onBehalf = strings.TrimSpace(onBehalf)
	if p.Kind != licensing.KindOperator {
		if onBehalf != "" {
			email, err := licensing.NormalizeEmail(onBehalf)
			if err != nil {
				return ctx, err
			}
			if email != p.Email {
				return ctx, licensing.Errorf(licensing.EINVALID, "the acting account %s is not the API token's account %s", email, p.Email).
					WithHint("an account's token acts for its own account only: leave the account unset, or use a token of %s", email)
			}
		}
		switch {
		case a.acct == "":
			return ctx, licensing.MissingScope(p, a.op)
		case a.acct != anyScope && !p.Has(a.acct):
			return ctx, licensing.MissingScope(p, a.acct)
		}
		return licensing.WithPrincipal(ctx, p), nil
	}
	if onBehalf == "" {
		switch {
		case a.op == "" && !p.Has(licensing.ScopeImpersonate):
			return ctx, licensing.MissingScope(p, licensing.ScopeImpersonate)
		case a.op == "":
			return ctx, licensing.Errorf(licensing.EINVALID, "this is an account's data: an operator's token acts on it for an account").
				WithHint("pass --account EMAIL (or set LICENSECTL_ACCOUNT)")
		case a.op != anyScope && !p.Has(a.op):
			return ctx, licensing.MissingScope(p, a.op)
		}
		return licensing.WithPrincipal(ctx, p), nil
	}
	if !p.Has(licensing.ScopeImpersonate) {
		return ctx, licensing.MissingScope(p, licensing.ScopeImpersonate)
	}
	email, err := licensing.NormalizeEmail(onBehalf)
	if err != nil {
		return ctx, err
	}
	if a.acct == "" {
		// An operator's route: the operator's own scope decides.
		if a.op != anyScope && !p.Has(a.op) {
			return ctx, licensing.MissingScope(p, a.op)
		}
	} else {
		// On an account's behalf the operator may do what the account's
		// own default token may, besides what its own scopes allow.
		p.Scopes = append(slices.Clip(p.Scopes), licensing.AccountScopes()...)
	}
	return licensing.WithAccount(licensing.WithPrincipal(ctx, p), email), nil
}

// Permission is one route's row of the permission matrix.
type Permission struct {
	Route    string // "METHOD /path"
	Public   bool
	Account  string // the scope an account's token needs; "" none may; "*" any
	Operator string // the scope an operator needs for no account; "" only on an account's behalf
	// OnBehalf: an operator with impersonate may call it for an account.
	OnBehalf bool
	CLI      string // the commands that call it
}

// Permissions lists every route's access, in route order: the one source
// docs/permissions.md and the matrix test are made from.
func (s *Server) Permissions() []Permission {
	var out []Permission
	for _, rt := range s.routes() {
		out = append(out, Permission{Route: rt.pattern, Public: rt.access.public, Account: rt.access.acct,
			Operator: rt.access.op, OnBehalf: rt.access.acct != "", CLI: cliOf(rt.pattern)})
	}
	return out
}

// cliOf names the commands that call each route, for docs/permissions.md.
func cliOf(route string) string {
	return map[string]string{
		"GET /healthz":                                "licensectl healthcheck",
		"GET /readyz":                                 "(load balancers)",
		"GET /v1/account":                             "licensectl login, accounts list",
		"GET /v1/accounts":                            "licensectl accounts list",
		"POST /v1/accounts":                           "licensectl accounts create",
		"PATCH /v1/accounts/{email}":                  "licensectl accounts disable|enable",
		"GET /v1/products":                            "licensectl products list",
		"POST /v1/products":                           "licensectl products import",
		"GET /v1/products/{sku}":                      "licensectl licenses buy (price checks)",
		"GET /v1/companies":                           "licensectl companies list",
		"POST /v1/companies":                          "licensectl companies create",
		"GET /v1/licenses":                            "licensectl licenses list",
		"GET /v1/license-groups":                      "licensectl licenses list --group",
		"GET /v1/licenses/{key}":                      "licensectl licenses show",
		"PATCH /v1/licenses/{key}":                    "licensectl licenses set",
		"POST /v1/purchases":                          "licensectl licenses buy",
		"POST /v1/quotes":                             "licensectl licenses buy --dry-run",
		"GET /v1/audit":                               "licensectl audit list",
		"GET /v1/tokens":                              "licensectl accounts token list",
		"POST /v1/tokens":                             "licensectl accounts token create",
		"DELETE /v1/tokens/{prefix}":                  "licensectl accounts token revoke",
		"POST /v1/attach-requests":                    "licensectl licenses attach --key|--purchase-id",
		"POST /v1/attach-confirmations":               "licensectl licenses attach --code",
		"GET /v1/maintenance":                         "licensectl maintenance list",
		"POST /v1/maintenance-quotes":                 "licensectl maintenance buy --dry-run",
		"POST /v1/maintenance-purchases":              "licensectl maintenance buy",
		"POST /v1/maintenance/{id}/assignment":        "licensectl maintenance assign",
		"PATCH /v1/maintenance/{id}":                  "licensectl maintenance set",
		"GET /v1/renewals":                            "licensectl renewals list, renewals run --dry-run",
		"POST /v1/renewal-runs":                       "licensectl renewals run",
		"POST /v1/activations":                        "licensectl activations activate, activations run",
		"GET /v1/activations":                         "licensectl activations list",
		"POST /v1/activations/{id}/heartbeat":         "licensectl activations heartbeat, activations run",
		"POST /v1/activation-releases":                "licensectl activations release --stale",
		"POST /v1/deactivations":                      "licensectl activations deactivate, activations run",
		"GET /v1/licenses/{key}/validation":           "licensectl licenses validate",
		"GET /v1/licenses/{key}/download":             "licensectl licenses download --print-url",
		"GET /v1/licenses/{key}/download/file":        "licensectl licenses download",
		"GET /v1/builds":                              "licensectl products builds list",
		"POST /v1/builds":                             "licensectl products builds add",
		"POST /v1/offline-activations":                "licensectl activations offline activate",
		"POST /v1/offline-releases":                   "licensectl activations offline release",
		"GET /v1/signing-keys":                        "licensectl keys public",
		"POST /v1/signing-keys":                       "licensectl keys rotate",
		"GET /v1/operators":                           "licensectl operators list",
		"POST /v1/operators":                          "licensectl operators create",
		"PATCH /v1/operators/{name}":                  "licensectl operators disable|enable",
		"GET /v1/operators/{name}/tokens":             "licensectl operators token list",
		"POST /v1/operators/{name}/tokens":            "licensectl operators token create",
		"DELETE /v1/operator-tokens/{prefix}":         "licensectl operators token revoke",
		"GET /v1/lookup/licenses/{key}":               "licensectl licenses find",
		"GET /v1/lookup/purchases/{id}":               "licensectl purchases find",
		"GET /v1/purchases":                           "licensectl purchases list",
		"GET /v1/purchases/{id}":                      "licensectl purchases show",
		"POST /v1/purchases/{id}/refunds":             "licensectl purchases refund",
		"POST /v1/licenses/{key}/cancellation":        "licensectl licenses cancel",
		"GET /v1/billing":                             "licensectl billing show",
		"GET /v1/events":                              "licensectl events list",
		"GET /v1/notifications":                       "licensectl notifications show",
		"PATCH /v1/notifications":                     "licensectl notifications set",
		"POST /v1/billing/setup":                      "licensectl billing setup",
		"GET /v1/payments/reconciliation":             "licensectl payments reconcile",
		"POST /v1/webhooks/stripe":                    "(Stripe's webhooks)",
		"GET /v1/webhooks":                            "licensectl webhooks list",
		"POST /v1/webhooks":                           "licensectl webhooks create",
		"DELETE /v1/webhooks/{id}":                    "licensectl webhooks delete",
		"POST /v1/webhooks/{id}/enable":               "licensectl webhooks enable",
		"POST /v1/webhooks/{id}/test":                 "licensectl webhooks test",
		"GET /v1/webhook-deliveries":                  "licensectl webhooks deliveries",
		"POST /v1/webhook-deliveries/{id}/redelivery": "licensectl webhooks redeliver",
		"POST /v1/maintenance/{id}/cancellation":      "licensectl maintenance cancel",
	}[route]
}

// isOperatorToken tells an operator's token by its prefix.
func isOperatorToken(secret string) bool { return strings.HasPrefix(secret, "lco_") }
