// Package licensing is the domain of licensectl: products, accounts, companies,
// purchases and licenses, the rules that govern them, the errors they produce and
// the service interfaces that storage (SQLite, PostgreSQL) and transport (HTTP)
// implement. It imports nothing else of the project.
package licensing

import (
	"context"
	"time"
)

// Clock tells the time. The domain never calls time.Now: stores and commands are
// handed a Clock so tests can pin it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC and truncated to seconds (the stores keep
// seconds).
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// FixedClock always answers the same instant; for tests and --as-of style runs.
type FixedClock time.Time

// Now implements Clock.
func (c FixedClock) Now() time.Time { return time.Time(c).UTC() }

type accountKey struct{}

// WithAccount returns a context that acts as the account with this login email.
// Every service call that reads or writes an account's data takes the acting
// account from its context, so no call can name another account's data.
func WithAccount(ctx context.Context, email string) context.Context {
	return context.WithValue(ctx, accountKey{}, email)
}

// AccountFrom returns the acting account's email, or "" when there is none.
func AccountFrom(ctx context.Context) string {
	s, _ := ctx.Value(accountKey{}).(string)
	return s
}

type viaKey struct{}

// WithVia returns a context whose changes the audit log records as made
// through a channel other than a command on the store host, such as
// "api token lct_abcd1234": their actor reads "EMAIL via CHANNEL".
func WithVia(ctx context.Context, via string) context.Context {
	return context.WithValue(ctx, viaKey{}, via)
}

// Actor is how the audit log names who acted: who (an account's email, or
// the operator) alone for a command on the store host, with " via CHANNEL"
// when the context came through one (WithVia).
func Actor(ctx context.Context, who string) string {
	if via, _ := ctx.Value(viaKey{}).(string); via != "" {
		return who + " via " + via
	}
	return who
}

// RequireAccount returns the acting account or an EUNAUTHORIZED error.
func RequireAccount(ctx context.Context) (string, error) {
	if a := AccountFrom(ctx); a != "" {
		return a, nil
	}
	return "", &Error{Code: EUNAUTHORIZED, Message: "no acting account",
		Hint: "pass --account EMAIL, set LICENSECTL_ACCOUNT, or set account in the config file"}
}

// Services bundles every service a backend offers; the CLI receives one of these
// from its factory and never learns which backend it got.
type Services interface {
	CatalogService
	BuildService
	AccountService
	CompanyService
	LicenseService
	AuditService
	TokenService
	OperatorService
	LookupService
	AccountAdminService
	ActivationService
	AttachService
	MaintenanceService
	RenewalService
	MoneyService
	PaymentService
	EventService
	WebhookService
	NotificationService
	Close() error
}

// CatalogService reads and replaces the product catalog.
type CatalogService interface {
	ListProducts(ctx context.Context) ([]Product, error)
	FindProduct(ctx context.Context, sku string) (*Product, error)
	// ImportProducts inserts or replaces the given products (by SKU). Products not
	// named are kept. Licenses of a product keep pointing at it.
	ImportProducts(ctx context.Context, products []Product) (int, error)
}

// AccountService manages accounts.
type AccountService interface {
	// CreateAccount creates an account; licenses already purchased with this
	// email and owned by nobody are attached to it at once.
	CreateAccount(ctx context.Context, email string) (*Account, error)
	ListAccounts(ctx context.Context) ([]Account, error)
}

// CompanyService manages the acting account's companies.
type CompanyService interface {
	CreateCompany(ctx context.Context, name string) (*Company, error)
	ListCompanies(ctx context.Context) ([]Company, error)
}

// LicenseService buys, lists, shows and changes the acting account's licenses.
type LicenseService interface {
	// Quote prices a purchase without changing anything (--dry-run).
	Quote(ctx context.Context, req BuyRequest) (*Purchase, error)
	// Buy makes a purchase in one transaction. A request whose idempotency key was
	// already used with the same parameters returns the original purchase with
	// Replayed set; with other parameters it fails with ECONFLICT.
	Buy(ctx context.Context, req BuyRequest, progress func(done int)) (*Purchase, error)
	// ListLicenses calls fn for each license that matches, in order, streaming.
	ListLicenses(ctx context.Context, f LicenseFilter, fn func(*License) error) error
	// GroupLicenses answers one row per product with counts.
	GroupLicenses(ctx context.Context, f LicenseFilter) ([]LicenseGroup, error)
	GetLicense(ctx context.Context, key string) (*LicenseDetail, error)
	UpdateLicense(ctx context.Context, key string, u LicenseUpdate) (*License, error)
}

// AuditService reads the audit log of the acting account.
type AuditService interface {
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}
