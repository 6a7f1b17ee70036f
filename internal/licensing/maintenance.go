package licensing

import (
	"context"
	"strings"
	"time"
)

// MaintenanceAvailable is the status of a plan bought but not yet assigned to
// a license (the others are MaintenanceActive and MaintenanceExpired).
const MaintenanceAvailable = "available"

// Renewal kinds, actions and outcomes.
const (
	RenewalMaintenance  = "maintenance"
	RenewalSubscription = "subscription"
	RenewalTrial        = "trial"

	RenewalRenew  = "renew"
	RenewalExpire = "expire"
)

// MaintenancePlan is one year (and its renewals) of upgrades and support for
// one lifetime license.
type MaintenancePlan struct {
	ID         string     `json:"id"`
	LicenseKey *string    `json:"license_key"` // nil: available, not assigned yet
	Product    string     `json:"product"`
	Status     string     `json:"status"` // available | active | expired
	StartsAt   *time.Time `json:"starts_at"`
	EndsAt     *time.Time `json:"ends_at"`
	AutoRenew  bool       `json:"auto_renew"`
	PriceCents int64      `json:"price_cents"`
	Currency   string     `json:"currency"`
	PurchaseID string     `json:"purchase_id"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Derive sets the plan's status as of now. A plan bought while another one
// runs starts in the future; it counts as active, its starts_at tells when.
func (m *MaintenancePlan) Derive(now time.Time) {
	switch {
	case m.LicenseKey == nil:
		m.Status = MaintenanceAvailable
	case m.EndsAt != nil && !m.EndsAt.After(now):
		m.Status = MaintenanceExpired
	default:
		m.Status = MaintenanceActive
	}
}

// MaintenanceTerm is how long a plan runs, and how long each renewal adds.
func MaintenanceTerm(from time.Time) time.Time { return from.AddDate(1, 0, 0) }

// MaintenanceSKU names the purchase line of a product's maintenance.
func MaintenanceSKU(productSKU string) string { return productSKU + ":maintenance" }

// MaintenanceBuyRequest asks for maintenance plans: for one license (Key),
// for every license that needs one (All, narrowed by Company and Product), or
// Quantity plans of Product left available (Unassigned).
type MaintenanceBuyRequest struct {
	Key        string `json:"key,omitempty"`
	All        bool   `json:"all,omitempty"`
	Unassigned bool   `json:"unassigned,omitempty"`
	Company    string `json:"company,omitempty"`
	Product    string `json:"product,omitempty"`
	Quantity   int    `json:"quantity,omitempty"`
	// NoAutoRenew buys plans with auto-renew off; it is on by default.
	NoAutoRenew    bool   `json:"no_auto_renew,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// PurchaseEmail, when given, must be the account's login email: the
	// vendor sells maintenance only to the license owner's login.
	PurchaseEmail string `json:"purchase_email,omitempty"`
}

// Normalize validates the request's shape; the store checks the rest.
func (r *MaintenanceBuyRequest) Normalize() error {
	r.Key = strings.TrimSpace(r.Key)
	r.Product = strings.ToLower(strings.TrimSpace(r.Product))
	modes := 0
	for _, on := range []bool{r.Key != "", r.All, r.Unassigned} {
		if on {
			modes++
		}
	}
	switch {
	case modes == 0:
		return Errorf(EINVALID, "nothing to buy: name a license KEY, or pass --all or --unassigned").
			WithHint("licensectl maintenance buy KEY | --all [--company C] [--product SKU] | --unassigned --product SKU --quantity N")
	case modes > 1:
		return Errorf(EINVALID, "a license KEY, --all and --unassigned cannot be combined")
	case r.Key != "" && (r.Company != "" || r.Product != ""):
		return Errorf(EINVALID, "--company and --product narrow --all; a single license needs neither")
	case r.Unassigned && r.Product == "":
		return Errorf(EINVALID, "--unassigned needs --product SKU: a plan is for one product")
	case r.Unassigned && r.Company != "":
		return Errorf(EINVALID, "--company does not apply to --unassigned plans")
	case !r.Unassigned && r.Quantity != 0:
		return Errorf(EINVALID, "--quantity applies to --unassigned only: --all buys one plan per license that needs one")
	}
	if r.Unassigned && r.Quantity == 0 {
		r.Quantity = 1
	}
	if r.Unassigned && (r.Quantity < 1 || r.Quantity > MaxQuantity) {
		return Errorf(EINVALID, "quantity must be between 1 and %d, got %d", MaxQuantity, r.Quantity)
	}
	if r.Company != "" {
		c, err := NormalizeCompanyName(r.Company)
		if err != nil {
			return err
		}
		r.Company = c
	}
	if len(r.IdempotencyKey) > 255 || hasControl(r.IdempotencyKey) {
		return Errorf(EINVALID, "idempotency key must be at most 255 printable characters")
	}
	if r.PurchaseEmail != "" {
		e, err := NormalizeEmail(r.PurchaseEmail)
		if err != nil {
			return err
		}
		r.PurchaseEmail = e
	}
	return nil
}

// CheckMaintenanceEmail enforces the vendor's rule that maintenance is bought
// with the account's login email only.
func CheckMaintenanceEmail(purchaseEmail, login string) error {
	if purchaseEmail == "" || purchaseEmail == login {
		return nil
	}
	return Errorf(EUNAUTHORIZED, "maintenance is always bought with the account's login email (%s), not %s", login, purchaseEmail).
		WithHint("drop --purchase-email; to cover licenses of %s, attach them to your account first or buy as that account", purchaseEmail)
}

// CheckMaintainable says why a product cannot carry maintenance, if it cannot.
func CheckMaintainable(p *Product) error {
	switch p.Term {
	case TermSubscription:
		return Errorf(EINVALID, "%s is a subscription: Managed Backup includes upgrades and gets support through add-ons, it needs no maintenance", p.SKU).
			WithHint("add Premium Support to a purchase with `licensectl licenses buy --premium-support`")
	case TermAddon:
		return Errorf(EINVALID, "%s is an add-on, not a license type: it has no maintenance", p.SKU)
	}
	return nil
}

// MaintenancePurchase is a maintenance purchase (or its quote) with the plans
// it creates.
type MaintenancePurchase struct {
	Purchase
	Count int               `json:"count"` // plans bought
	Plans []MaintenancePlan `json:"plans"`
}

// MaintenanceFilter selects plans for `maintenance list`.
type MaintenanceFilter struct {
	Available bool   // only plans not assigned to a license
	License   string // only the plans of this license key
}

// MaintenanceUpdate changes a plan; nil fields are left alone.
type MaintenanceUpdate struct {
	AutoRenew *bool `json:"auto_renew,omitempty"`
}

// MaintenanceService buys, lists, assigns and changes the acting account's
// maintenance plans.
type MaintenanceService interface {
	// QuoteMaintenance prices a request with the rules BuyMaintenance applies
	// and changes nothing.
	QuoteMaintenance(ctx context.Context, req MaintenanceBuyRequest) (*MaintenancePurchase, error)
	// BuyMaintenance makes one purchase, in one transaction, of one plan per
	// license (assigned at once) or of available plans. An idempotency key
	// used before with the same request returns the original purchase.
	BuyMaintenance(ctx context.Context, req MaintenanceBuyRequest, progress func(done int)) (*MaintenancePurchase, error)
	ListMaintenance(ctx context.Context, f MaintenanceFilter) ([]MaintenancePlan, error)
	// AssignMaintenance assigns an available plan to a license of its product
	// that has no active plan; the plan runs one year from now.
	AssignMaintenance(ctx context.Context, id, key string) (*MaintenancePlan, error)
	UpdateMaintenance(ctx context.Context, id string, u MaintenanceUpdate) (*MaintenancePlan, error)
}

// Renewal is one thing that falls (or fell) due: a maintenance plan or a
// subscription to renew, or a plan, subscription or trial that ends.
type Renewal struct {
	Kind       string     `json:"kind"`   // maintenance | subscription | trial
	Object     string     `json:"object"` // plan id, or license key
	LicenseKey string     `json:"license_key"`
	Product    string     `json:"product"`
	Account    string     `json:"account"`
	DueAt      time.Time  `json:"due_at"`
	Action     string     `json:"action"` // renew | expire
	NewEnd     *time.Time `json:"new_end"`
	PriceCents int64      `json:"price_cents"`
	Currency   string     `json:"currency"`
	PurchaseID string     `json:"purchase_id,omitempty"`
}

// RenewalRun is what one run of the renewals engine did or, as a dry run
// (a preview), would do.
type RenewalRun struct {
	AsOf    time.Time `json:"as_of"`
	DryRun  bool      `json:"dry_run"`
	Renewed int       `json:"renewed"`
	// Failed counts the periods whose charge the payment provider refused:
	// not renewed; a subscription is past due (valid for the grace period)
	// and charged again by the next run.
	Failed     int   `json:"failed,omitempty"`
	Expired    int   `json:"expired"`
	TotalCents int64 `json:"total_cents"`
	// Accounts sums the run per account and currency, in the order the
	// accounts first fall due.
	Accounts  []RenewalTotal `json:"accounts"`
	Purchases []string       `json:"purchases"`
	Renewals  []Renewal      `json:"renewals"`
}

// RenewalTotal is one account's part of a renewals run, in one currency.
type RenewalTotal struct {
	Account    string `json:"account"`
	Renewed    int    `json:"renewed"`
	Expired    int    `json:"expired"`
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
}

// RenewalService runs the renewals engine. Without an acting account in the
// context it works on every account (the operator, or a server's schedule);
// with one, on that account only.
type RenewalService interface {
	// RunRenewals processes everything due at or before asOf: it renews what
	// has auto-renew on, with a purchase at the current price, and records
	// the end of everything else. A second run for the same asOf changes
	// nothing.
	RunRenewals(ctx context.Context, asOf time.Time) (*RenewalRun, error)
	// DueRenewals previews what falls due at or before until and is not
	// processed yet, with what it will cost.
	DueRenewals(ctx context.Context, until time.Time) ([]Renewal, error)
}
