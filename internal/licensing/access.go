package licensing

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A Scope is one permission a token may carry. Account scopes let an
// account's token act on that account's data; operator scopes let an
// operator's token do the vendor's work across accounts.
type Scope = string

// Account scopes.
const (
	ScopeLicensesRead     Scope = "licenses:read"     // list and show licenses, companies, maintenance, activations, downloads, quotes
	ScopeLicensesWrite    Scope = "licenses:write"    // change licenses and plans: set, company moves, assign, create companies
	ScopePurchasesWrite   Scope = "purchases:write"   // buy licenses and maintenance, run renewals
	ScopeActivationsWrite Scope = "activations:write" // activate, deactivate, heartbeat, offline activations
	ScopeValidate         Scope = "validate"          // validate a license
	ScopeAttach           Scope = "attach"            // attach licenses bought with another email
	ScopeAuditRead        Scope = "audit:read"        // read the audit log
	ScopeTokensWrite      Scope = "tokens:write"      // list, create and revoke the account's tokens
)

// Operator scopes.
const (
	ScopeOperatorsWrite  Scope = "operators:write"  // create, disable operators and issue their tokens
	ScopeAccountsWrite   Scope = "accounts:write"   // create, list, disable and enable accounts
	ScopeCatalogWrite    Scope = "catalog:write"    // import the product catalog
	ScopeLicensesSuspend Scope = "licenses:suspend" // suspend and reinstate licenses
	ScopeKeysWrite       Scope = "keys:write"       // rotate the offline signing key
	ScopeRenewalsRun     Scope = "renewals:run"     // preview and run renewals for every account
	ScopeLookup          Scope = "lookup"           // find the owner of a key or purchase across accounts
	ScopeImpersonate     Scope = "impersonate"      // act on behalf of an account (--account EMAIL)
	ScopeRefundsOverride Scope = "refunds:override" // refund past the refund window, and activated licenses (--force)
)

// AccountScopes are every account scope, in the order docs list them: what
// a new account token gets unless it asks for fewer.
func AccountScopes() []Scope {
	return []Scope{ScopeLicensesRead, ScopeLicensesWrite, ScopePurchasesWrite, ScopeActivationsWrite,
		ScopeValidate, ScopeAttach, ScopeAuditRead, ScopeTokensWrite, ScopeWebhooks}
}

// OperatorScopes are every operator scope: what a new operator token gets
// unless it asks for fewer.
func OperatorScopes() []Scope {
	return []Scope{ScopeOperatorsWrite, ScopeAccountsWrite, ScopeCatalogWrite, ScopeLicensesSuspend,
		ScopeKeysWrite, ScopeRenewalsRun, ScopeLookup, ScopeImpersonate, ScopeRefundsOverride}
}

// PrincipalKind tells an account's token from an operator's.
type PrincipalKind string

// Principal kinds.
const (
	KindAccount  PrincipalKind = "account"
	KindOperator PrincipalKind = "operator"
)

// Principal is who a request acts as, as Authenticate answers it: an
// account by its login email, or an operator by name, each with the scopes
// its token carries. Ref is the backend's own handle on the account, opaque
// to everyone else, so that the backend need not look the account up again
// for every call the request makes.
type Principal struct {
	Kind      PrincipalKind
	Email     string // the account's (KindAccount)
	Operator  string // the operator's name (KindOperator)
	Scopes    []Scope
	Token     string     // the token's clear prefix
	ExpiresAt *time.Time // nil: until revoked
	Ref       any
}

// Has reports whether the principal's token carries scope.
func (p Principal) Has(scope Scope) bool { return slices.Contains(p.Scopes, scope) }

// Name is how the principal is shown: the account's email, or "operator
// NAME".
func (p Principal) Name() string {
	if p.Kind == KindOperator {
		return "operator " + p.Operator
	}
	return p.Email
}

type principalKey struct{}

// WithPrincipal returns a context that carries p for the use cases and the
// backend that authenticated it. An account principal acts as its account
// (WithAccount); an operator acts on no account until one is set on its
// behalf (WithAccount after this).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	if p.Kind != KindOperator {
		ctx = WithAccount(ctx, p.Email)
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal a context carries, if any. A context
// without one is a command on the store host, which may do anything (the
// store is the root of trust).
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// OnBehalfOf is the account an operator acts for in ctx, or "".
func OnBehalfOf(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok && p.Kind == KindOperator {
		return AccountFrom(ctx)
	}
	return ""
}

// MissingScope is the refusal of a principal that lacks scope.
func MissingScope(p Principal, scope Scope) error {
	if p.Kind == KindOperator {
		return Errorf(EFORBIDDEN, "this token lacks the %s scope", scope).
			WithHint("create an operator token that has it: licensectl operators token create %s --scope %s", p.Operator, scope)
	}
	if slices.Contains(OperatorScopes(), scope) {
		return Errorf(EFORBIDDEN, "this needs an operator token with the %s scope; an account's token cannot have it", scope)
	}
	return Errorf(EFORBIDDEN, "this token lacks the %s scope", scope).
		WithHint("create a token that has it: licensectl accounts token create --scope %s", scope)
}

// Authorize answers nil when ctx may use scope: a command on the store host
// always may; a request over the API when its token carries the scope.
func Authorize(ctx context.Context, scope Scope) error {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.Has(scope) {
		return nil
	}
	return MissingScope(p, scope)
}

// TokenRequest says what token to make: its name, its scopes (none: every
// scope of its kind) and how long it lives (0: until revoked).
type TokenRequest struct {
	Name      string        `json:"name,omitempty"`
	Scopes    []Scope       `json:"scopes,omitempty"`
	ExpiresIn time.Duration `json:"-"`
}

// maxTokenName bounds a token's name.
const maxTokenName = 64

// CheckTokenRequest normalizes r for a token whose scopes must come from
// allowed (AccountScopes or OperatorScopes): names trimmed, scopes lower
// case, sorted in allowed's order and without repeats; none means all.
func CheckTokenRequest(r TokenRequest, allowed []Scope) (TokenRequest, error) {
	r.Name = strings.TrimSpace(r.Name)
	if !utf8.ValidString(r.Name) || utf8.RuneCountInString(r.Name) > maxTokenName || strings.ContainsFunc(r.Name, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return r, Errorf(EINVALID, "invalid token name %q: at most %d characters, no control characters", ClipArg(r.Name), maxTokenName)
	}
	if r.ExpiresIn < 0 {
		return r, Errorf(EINVALID, "invalid token lifetime %s: want a positive duration", r.ExpiresIn)
	}
	if r.ExpiresIn > 0 && r.ExpiresIn < time.Minute {
		return r, Errorf(EINVALID, "token lifetime %s is too short: at least 1m", r.ExpiresIn)
	}
	if len(r.Scopes) == 0 {
		r.Scopes = allowed
		return r, nil
	}
	want := map[Scope]bool{}
	for _, s := range r.Scopes {
		s = strings.ToLower(strings.TrimSpace(s))
		if !slices.Contains(allowed, s) {
			return r, Errorf(EINVALID, "unknown scope %q", ClipArg(s)).WithHint("scopes: %s", strings.Join(allowed, ", "))
		}
		want[s] = true
	}
	r.Scopes = nil
	for _, s := range allowed {
		if want[s] {
			r.Scopes = append(r.Scopes, s)
		}
	}
	return r, nil
}

// Narrow refuses scopes the creating principal in ctx does not hold itself:
// a token's scopes can only narrow what its creator may do. A command on
// the store host holds every scope.
func Narrow(ctx context.Context, scopes []Scope) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	for _, s := range scopes {
		if !p.Has(s) {
			return Errorf(EFORBIDDEN, "a token cannot have the %s scope: the token creating it lacks it", s).
				WithHint("name only scopes this token has: %s", strings.Join(p.Scopes, ","))
		}
	}
	return nil
}

// ParseScopes splits "a,b c" into scopes.
func ParseScopes(s string) []Scope {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// Operator is one of the vendor's support engineers.
type Operator struct {
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at"`
	Tokens     int        `json:"tokens"` // live tokens
}

var operatorName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// NormalizeOperatorName lower-cases and checks an operator's name: 1 to 64
// of a-z, 0-9, '.', '_', '-', starting with a letter or digit.
func NormalizeOperatorName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if !operatorName.MatchString(n) {
		return "", Errorf(EINVALID, "invalid operator name %q: 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", ClipArg(name))
	}
	return n, nil
}

// OperatorService manages operators and their tokens: on the store host,
// or over the API with the operators:write scope.
type OperatorService interface {
	CreateOperator(ctx context.Context, name string) (*Operator, error)
	ListOperators(ctx context.Context) ([]Operator, error)
	// SetOperatorDisabled disables an operator (its tokens stop working at
	// once) or enables it again.
	SetOperatorDisabled(ctx context.Context, name string, disabled bool) (*Operator, error)
	CreateOperatorToken(ctx context.Context, name string, req TokenRequest) (*Token, error)
	ListOperatorTokens(ctx context.Context, name string) ([]Token, error)
	RevokeOperatorToken(ctx context.Context, prefix string) error
}

// LicenseOwner answers who owns a license: what a support engineer needs
// when a customer calls with only a key.
type LicenseOwner struct {
	Account *string  `json:"account"` // null: bought for an email without an account yet
	License *License `json:"license"`
}

// PurchaseOwner answers where a purchase's licenses are now: a purchase's
// licenses may have been attached to several accounts one key at a time.
type PurchaseOwner struct {
	PurchaseID    string          `json:"purchase_id"`
	Buyer         string          `json:"account"` // the account that bought it
	PurchaseEmail string          `json:"purchase_email"`
	TotalCents    int64           `json:"total_cents"`
	Currency      string          `json:"currency"`
	CreatedAt     time.Time       `json:"created_at"`
	Licenses      []PurchaseOwned `json:"licenses"`
}

// PurchaseOwned is one license of a purchase and where it is now.
type PurchaseOwned struct {
	Key     string  `json:"key"`
	Product string  `json:"product"`
	Account *string `json:"account"`
	Company *string `json:"company"`
}

// LookupService finds objects across accounts: on the store host, or over
// the API with the lookup scope.
type LookupService interface {
	FindLicense(ctx context.Context, key string) (*LicenseOwner, error)
	FindPurchase(ctx context.Context, purchaseID string) (*PurchaseOwner, error)
}

// AccountAdminService disables and enables accounts: a disabled account's
// tokens stop working at once; its data stays.
type AccountAdminService interface {
	SetAccountDisabled(ctx context.Context, email string, disabled bool) (*Account, error)
}

// Whoami is what a token is: GET /v1/account's answer.
type Whoami struct {
	Kind       PrincipalKind `json:"kind"`
	Email      string        `json:"email,omitempty"`    // the account (or the account an operator acts for)
	Operator   string        `json:"operator,omitempty"` // the operator's name
	Scopes     []Scope       `json:"scopes"`
	Token      string        `json:"token"` // its clear prefix
	ExpiresAt  *time.Time    `json:"expires_at"`
	OnBehalfOf bool          `json:"on_behalf_of,omitempty"`
}
