package licensing

import (
	"encoding/json"
	"time"
)

// Product terms.
const (
	TermPerpetual    = "perpetual"
	TermSubscription = "subscription"
	TermAddon        = "addon"
)

// License terms, kinds, states.
const (
	LicenseTermPerpetual = "perpetual"
	LicenseTermMonthly   = "monthly"
	LicenseTermAnnual    = "annual"

	KindCommercial = "commercial"
	KindTrial      = "trial"

	StatusActivated    = "activated"
	StatusNotActivated = "not_activated"

	ValidityValid   = "valid"
	ValidityExpired = "expired"

	UsageUsed   = "used"
	UsageUnused = "unused"

	MaintenanceActive  = "active"
	MaintenanceExpired = "expired"
	MaintenanceNone    = "none"

	BillingMonthly = "monthly"
	BillingAnnual  = "annual"
)

// Well-known add-on SKUs.
const (
	SKUPremiumSupport = "premium-support"
	SKUOnboarding     = "onboarding"
)

// Platforms a product can run on.
const (
	OSWindows = "windows"
	OSMacOS   = "macos"
	OSLinux   = "linux"
)

// TrialDays is how long a trial license is valid.
const TrialDays = 15

// MaxQuantity is the most licenses one purchase line may buy.
const MaxQuantity = 100000

// Product is an entry of the catalog: a license type or an add-on.
type Product struct {
	SKU                   string   `json:"sku" yaml:"sku"`
	Name                  string   `json:"name" yaml:"name"`
	Term                  string   `json:"term" yaml:"term"`                 // perpetual | subscription | addon
	Edition               string   `json:"edition" yaml:"edition,omitempty"` // desktop | server | mssql | exchange | ultimate | vm
	PriceCents            int64    `json:"price_cents" yaml:"price_cents"`
	MonthlyPriceCents     int64    `json:"monthly_price_cents" yaml:"monthly_price_cents,omitempty"`
	AnnualPriceCents      int64    `json:"annual_price_cents" yaml:"annual_price_cents,omitempty"`
	MaintenancePriceCents int64    `json:"maintenance_price_cents" yaml:"maintenance_price_cents,omitempty"`
	Platforms             []string `json:"platforms" yaml:"platforms,omitempty"`
	Seats                 int      `json:"seats" yaml:"seats,omitempty"`
	LatestVersion         string   `json:"latest_version" yaml:"latest_version,omitempty"`
	Currency              string   `json:"currency" yaml:"currency,omitempty"`
	// PerLicense add-ons are charged once per license bought; others once per purchase.
	PerLicense bool `json:"per_license,omitempty" yaml:"per_license,omitempty"`
}

// Account is a login of the license portal.
type Account struct {
	Email      string     `json:"email"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at"` // a disabled account's tokens do not work
	// Attached counts the licenses that were waiting for this email when the
	// account was created; set only by CreateAccount.
	Attached int `json:"attached_licenses"`
}

// Company is a client company of an account; licenses can be matched to it.
type Company struct {
	Name      string    `json:"name"`
	Licenses  int       `json:"licenses"`
	CreatedAt time.Time `json:"created_at"`
}

// LineItem is one priced line of a purchase.
type LineItem struct {
	SKU            string `json:"sku"`
	Description    string `json:"description"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	AmountCents    int64  `json:"amount_cents"`
	Company        string `json:"company,omitempty"`
	Billing        string `json:"billing,omitempty"`
}

// Purchase is a paid order: line items, totals and the licenses it created.
type Purchase struct {
	ID             string     `json:"purchase_id"`
	Account        string     `json:"account"`
	PurchaseEmail  string     `json:"purchase_email"`
	IdempotencyKey string     `json:"idempotency_key"`
	Items          []LineItem `json:"items"`
	TotalCents     int64      `json:"total_cents"`
	Currency       string     `json:"currency"`
	Billing        string     `json:"billing"`
	Trial          bool       `json:"trial"`
	Licenses       []string   `json:"licenses"`
	CreatedAt      time.Time  `json:"created_at"`
	// Kind is purchase, renewal or refund.
	Kind          string `json:"kind"`
	PaymentStatus string `json:"payment_status"`
	RefundedCents int64  `json:"refunded_cents"`
	// ReceiptURL is the payment provider's receipt; nil without one.
	ReceiptURL *string `json:"receipt_url"`
	// PaymentRef is the payment provider's reference; "" without one.
	PaymentRef string `json:"payment_ref,omitempty"`
	// RefundOf is the purchase a refund refunds; nil for others.
	RefundOf *string `json:"refund_of,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	// PaymentURL is where the customer completes a pending payment.
	PaymentURL string `json:"payment_url,omitempty"`
	// AlsoRefunded are the refunds a refund made with it: the maintenance
	// plans of its licenses, against their own purchases.
	AlsoRefunded []Purchase `json:"also_refunded,omitempty"`
	// ReceiptError says why the receipt could not be emailed ("" when it
	// was, or when no mail is configured); never part of the API.
	ReceiptError string `json:"-"`
	// Replayed is true when an idempotency key returned an earlier purchase.
	Replayed bool `json:"replayed"`
	// DryRun is true for a quote: nothing was bought.
	DryRun bool `json:"dry_run,omitempty"`
}

// BuyLine is one line of a purchase request.
type BuyLine struct {
	Product        string `json:"product"`
	Quantity       int    `json:"quantity"`
	Company        string `json:"company,omitempty"`
	Billing        string `json:"billing,omitempty"`
	PremiumSupport bool   `json:"premium_support,omitempty"`
	Onboarding     bool   `json:"onboarding,omitempty"`
}

// BuyRequest asks to buy one or more lines in one purchase.
type BuyRequest struct {
	Lines          []BuyLine `json:"lines"`
	Trial          bool      `json:"trial,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	// PurchaseEmail buys for another email (a gift or a reseller order); empty
	// means the acting account's login email.
	PurchaseEmail string `json:"purchase_email,omitempty"`
}

// License is one license key and its state as the list shows it.
type License struct {
	Key             string     `json:"key"`
	Product         string     `json:"product"`
	ProductName     string     `json:"product_name"`
	Kind            string     `json:"kind"`
	Term            string     `json:"term"`
	Status          string     `json:"status"`
	Validity        string     `json:"validity"`
	Usage           string     `json:"usage"`
	Company         *string    `json:"company"`
	PurchaseID      string     `json:"purchase_id"`
	PurchaseEmail   string     `json:"purchase_email"`
	AllowRM         bool       `json:"allow_rm"`
	AutoRenew       bool       `json:"auto_renew"`
	ExpiresAt       *time.Time `json:"expires_at"`
	Maintenance     string     `json:"maintenance"`
	MaintenanceTill *time.Time `json:"maintenance_till"`
	Seats           int        `json:"seats"`
	SeatsUsed       int        `json:"seats_used"`
	CreatedAt       time.Time  `json:"created_at"`
	// RevokedAt is when a refund revoked the license; omitted while it is not.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Derive fills the computed fields (status, validity, usage, maintenance) from
// the stored ones as of now.
func (l *License) Derive(now time.Time) {
	if l.SeatsUsed > 0 {
		l.Status, l.Usage = StatusActivated, UsageUsed
	} else {
		l.Status, l.Usage = StatusNotActivated, UsageUnused
	}
	if l.RevokedAt != nil {
		l.Validity = ValidityRevoked
	} else if l.ExpiresAt != nil && !l.ExpiresAt.After(now) {
		l.Validity = ValidityExpired
	} else {
		l.Validity = ValidityValid
	}
	switch {
	case l.MaintenanceTill == nil:
		l.Maintenance = MaintenanceNone
	case l.MaintenanceTill.After(now):
		l.Maintenance = MaintenanceActive
	default:
		l.Maintenance = MaintenanceExpired
	}
}

// LicenseDetail is what `licenses show` prints: the license and its context.
type LicenseDetail struct {
	License
	PurchasedAt   time.Time `json:"purchased_at"`
	Activations   int       `json:"activations"`
	LatestVersion string    `json:"latest_version"`
	Platforms     []string  `json:"platforms"`
	RMSupported   bool      `json:"rm_supported"`
	// MaintenancePlans is the license's plan history, oldest first.
	MaintenancePlans []MaintenancePlan `json:"maintenance_plans"`
}

// LicenseFilter selects and orders licenses. Empty fields do not filter.
type LicenseFilter struct {
	Company     string // company name
	Pool        bool   // only licenses in the global pool
	Kind        string
	Validity    string
	Usage       string
	Status      string
	Maintenance string
	AutoRenew   bool // only licenses with auto-renew on
	Product     string
	Search      string
	Sort        []SortField
	Limit       int
	Offset      int
	// IncludeRevoked lists refunded (revoked) licenses too.
	IncludeRevoked bool
}

// SortField orders by one attribute.
type SortField struct {
	Field string
	Desc  bool
}

// LicenseGroup is one row of `licenses list --group`.
type LicenseGroup struct {
	Product     string `json:"product"`
	ProductName string `json:"product_name"`
	Total       int    `json:"total"`
	Valid       int    `json:"valid"`
	Expired     int    `json:"expired"`
	Used        int    `json:"used"`
	Unused      int    `json:"unused"`
	Trial       int    `json:"trial"`
}

// LicenseUpdate changes a license; nil fields are left alone.
type LicenseUpdate struct {
	AllowRM   *bool   `json:"allow_rm,omitempty"`
	AutoRenew *bool   `json:"auto_renew,omitempty"`
	Suspended *bool   `json:"suspended,omitempty"` // a suspended license refuses activation and validation
	Company   *string `json:"company,omitempty"`   // "" moves the license to the global pool
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID    int64     `json:"id"`
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	// OnBehalfOf is the account an operator acted for, else null.
	OnBehalfOf *string         `json:"on_behalf_of"`
	Action     string          `json:"action"`
	Object     string          `json:"object"`
	Details    json.RawMessage `json:"details"` // a JSON object
}

// AuditFilter selects audit events.
type AuditFilter struct {
	Action string
	Object string
	Since  *time.Time
	Limit  int
}
