package licensing

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaintenancePrice is the price of one year of maintenance for a product that
// costs priceCents: 20% of the price, rounded half up to whole currency units
// ($299.00 -> $60.00, $119.99 -> $24.00).
func MaintenancePrice(priceCents int64) int64 {
	fifth := priceCents * 20 // in hundredths of a cent
	units := (fifth + 5000) / 10000
	return units * 100
}

// NormalizeEmail validates an account or purchase email and returns it in
// lower case, the form every store keys on.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "email is empty")
	}
	if len(s) > 254 || hasControl(s) {
		return "", Errorf(EINVALID, "invalid email %q", clip(s))
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") {
		return "", Errorf(EINVALID, "invalid email %q", clip(s))
	}
	return strings.ToLower(s), nil
}

// NormalizeCompanyName validates a company name: 1 to 100 printable characters,
// trimmed.
func NormalizeCompanyName(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Errorf(EINVALID, "company name is empty")
	case !utf8.ValidString(s) || hasControl(s):
		return "", Errorf(EINVALID, "company name %q contains control characters", clip(s))
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }):
		// Right-to-left overrides and zero-width characters would let two
		// companies look alike in a table.
		return "", Errorf(EINVALID, "company name %q contains invisible formatting characters", clip(s))
	case utf8.RuneCountInString(s) > 100:
		return "", Errorf(EINVALID, "company name is longer than 100 characters")
	}
	return s, nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError })
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// LicenseSortFields are the attributes `licenses list --sort` accepts.
func LicenseSortFields() []string {
	return []string{"key", "product", "kind", "status", "validity", "usage", "maintenance_till",
		"allow_rm", "auto_renew", "company", "expires_at", "created_at", "purchase_id"}
}

// ParseSort parses "field[,-field]" into sort fields; field names are read
// like every enumerated value (any case).
func ParseSort(s string) ([]SortField, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []SortField
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		f := SortField{Field: part}
		if strings.HasPrefix(part, "-") {
			f = SortField{Field: part[1:], Desc: true}
		} else if strings.HasPrefix(part, "+") {
			f.Field = part[1:]
		}
		if strings.TrimSpace(f.Field) == "" {
			return nil, Errorf(EINVALID, "empty sort field in %q: want %s", clip(s), SortFieldEnum().Want())
		}
		field, err := SortFieldEnum().Parse(f.Field)
		if err != nil {
			return nil, err
		}
		f.Field = field
		out = append(out, f)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Validate checks the filter's enumerated values and puts them in their
// canonical form ("Trial" is trial, "all" no filter).
func (f *LicenseFilter) Validate() error {
	for _, v := range []struct {
		dst *string
		e   Enum
	}{
		{&f.Kind, KindFilter()},
		{&f.Validity, ValidityFilter()},
		{&f.Usage, UsageFilter()},
		{&f.Status, StatusFilter()},
		{&f.Maintenance, MaintenanceStateFilter()},
	} {
		val, err := v.e.Parse(*v.dst)
		if err != nil {
			return err
		}
		*v.dst = val
	}
	if f.Pool && f.Company != "" {
		return Errorf(EINVALID, "--pool and --company cannot be combined")
	}
	if f.Limit < 0 || f.Offset < 0 {
		return Errorf(EINVALID, "limit and offset must not be negative")
	}
	if len(f.Search) > 200 || hasControl(f.Search) {
		return Errorf(EINVALID, "search text must be at most 200 printable characters")
	}
	return nil
}

// Normalize validates a purchase request and fills defaults. It does not need
// the catalog; PriceLines checks products.
func (r *BuyRequest) Normalize() error {
	if len(r.Lines) == 0 {
		return Errorf(EINVALID, "nothing to buy")
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
	total := 0
	for i := range r.Lines {
		l := &r.Lines[i]
		l.Product = strings.ToLower(strings.TrimSpace(l.Product))
		if l.Product == "" {
			return Errorf(EINVALID, "product is required")
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return Errorf(EINVALID, "quantity must be between 1 and %d, got %d", MaxQuantity, l.Quantity)
		}
		total += l.Quantity
		if l.Company != "" {
			c, err := NormalizeCompanyName(l.Company)
			if err != nil {
				return err
			}
			l.Company = c
		}
		billing, err := BillingEnum().Parse(l.Billing)
		if err != nil {
			return err
		}
		l.Billing = billing
		if r.Trial && (l.PremiumSupport || l.Onboarding) {
			return Errorf(EINVALID, "add-ons cannot be bought with a trial")
		}
		if r.Trial && l.Billing != "" {
			return Errorf(EINVALID, "a trial has no payment mode: drop --billing")
		}
	}
	if total > MaxQuantity {
		return Errorf(EINVALID, "one purchase may buy at most %d licenses, this one asks for %d", MaxQuantity, total)
	}
	return nil
}

// PriceLines prices a normalized request against the catalog. fixedBilling
// reports the payment mode the account fixed on its first purchase of a
// subscription type. It returns the priced line items, the billing of each
// request line (the term its licenses get) and the total.
func PriceLines(r BuyRequest, find func(sku string) (*Product, error), fixedBilling func(sku string) (string, error)) ([]LineItem, []string, int64, error) {
	var items []LineItem
	terms := make([]string, len(r.Lines))
	chosen := map[string]string{}
	var total int64
	for i, l := range r.Lines {
		p, err := find(l.Product)
		if err != nil {
			return nil, nil, 0, err
		}
		if p.Term == TermAddon {
			return nil, nil, 0, Errorf(EINVALID, "%s is an add-on, not a license type", p.SKU).
				WithHint("add it to a purchase with --premium-support or --onboarding")
		}
		item := LineItem{SKU: p.SKU, Description: p.Name, Quantity: l.Quantity, Company: l.Company}
		switch {
		case r.Trial:
			item.Description += " (trial)"
			terms[i] = LicenseTermPerpetual
			if p.Term == TermSubscription {
				terms[i] = LicenseTermMonthly
			}
		case p.Term == TermSubscription:
			billing, err := subscriptionBilling(p, l.Billing, chosen, fixedBilling)
			if err != nil {
				return nil, nil, 0, err
			}
			chosen[p.SKU] = billing
			item.Billing, terms[i] = billing, billing
			item.UnitPriceCents = p.MonthlyPriceCents
			if billing == BillingAnnual {
				item.UnitPriceCents = p.AnnualPriceCents
			}
		default:
			if l.Billing != "" {
				return nil, nil, 0, Errorf(EINVALID, "%s is a lifetime license: it has no payment mode", p.SKU).
					WithHint("drop --billing; it applies to subscription (Managed Backup) types only")
			}
			terms[i] = LicenseTermPerpetual
			item.UnitPriceCents = p.PriceCents
		}
		item.AmountCents = item.UnitPriceCents * int64(item.Quantity)
		items = append(items, item)
		total += item.AmountCents
		for _, addon := range []struct {
			want bool
			sku  string
		}{{l.PremiumSupport, SKUPremiumSupport}, {l.Onboarding, SKUOnboarding}} {
			if !addon.want {
				continue
			}
			a, err := find(addon.sku)
			if err != nil {
				return nil, nil, 0, err
			}
			qty := 1
			if a.PerLicense {
				qty = l.Quantity
			}
			ai := LineItem{SKU: a.SKU, Description: a.Name + " for " + p.Name, Quantity: qty,
				UnitPriceCents: a.PriceCents, AmountCents: a.PriceCents * int64(qty), Company: l.Company}
			items = append(items, ai)
			total += ai.AmountCents
		}
	}
	return items, terms, total, nil
}

func subscriptionBilling(p *Product, asked string, chosen map[string]string, fixedBilling func(string) (string, error)) (string, error) {
	fixed, err := fixedBilling(p.SKU)
	if err != nil {
		return "", err
	}
	if fixed == "" {
		fixed = chosen[p.SKU] // an earlier line of this same purchase
	}
	switch {
	case fixed != "" && asked != "" && asked != fixed:
		return "", Errorf(ECONFLICT, "the payment mode for %s is %s: it was fixed by your first purchase of this type", p.SKU, fixed).
			WithHint("drop --billing or use --billing %s", fixed)
	case fixed != "":
		return fixed, nil
	case asked == "":
		return "", Errorf(EINVALID, "first purchase of %s: choose the payment mode with --billing monthly|annual", p.SKU).
			WithHint("the mode is fixed for this license type after the first purchase")
	}
	return asked, nil
}

// PurchaseBilling summarises the billing of a purchase's lines.
func PurchaseBilling(items []LineItem) string {
	b := ""
	for _, it := range items {
		if it.Billing == "" {
			continue
		}
		if b != "" && b != it.Billing {
			return "mixed"
		}
		b = it.Billing
	}
	if b == "" {
		return "one_time"
	}
	return b
}

// FormatCents renders cents as "299.00".
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
