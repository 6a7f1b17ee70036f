package licensing

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
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
// the catalog; PriceLines checks products. Every bad line is reported (see
// LineError), not only the first.
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
	var bad lineErrors
	total := 0
	for i := range r.Lines {
		if err := r.normalizeLine(i); err != nil {
			bad = append(bad, *err)
			continue
		}
		total += r.Lines[i].Quantity
	}
	if err := bad.err(); err != nil {
		return err
	}
	if total > MaxQuantity {
		return Errorf(EINVALID, "one purchase may buy at most %d licenses, this one asks for %d", MaxQuantity, total)
	}
	return nil
}

// normalizeLine checks line i of the request on its own.
func (r *BuyRequest) normalizeLine(i int) *LineError {
	l := &r.Lines[i]
	l.Product = strings.ToLower(strings.TrimSpace(l.Product))
	if l.Product == "" {
		return lineError(i, "product", Errorf(EINVALID, "product is required"))
	}
	if l.Quantity < 1 || l.Quantity > MaxQuantity {
		return lineError(i, "quantity", Errorf(EINVALID, "quantity must be between 1 and %d, got %d", MaxQuantity, l.Quantity))
	}
	if l.Company != "" {
		c, err := NormalizeCompanyName(l.Company)
		if err != nil {
			return lineError(i, "company", err)
		}
		l.Company = c
	}
	billing, err := BillingEnum().Parse(l.Billing)
	if err != nil {
		return lineError(i, "billing", err)
	}
	l.Billing = billing
	switch {
	case r.Trial && l.PremiumSupport:
		return lineError(i, "premium_support", Errorf(EINVALID, "add-ons cannot be bought with a trial"))
	case r.Trial && l.Onboarding:
		return lineError(i, "onboarding", Errorf(EINVALID, "add-ons cannot be bought with a trial"))
	case r.Trial && l.Billing != "":
		return lineError(i, "billing", Errorf(EINVALID, "a trial has no payment mode").WithHint("drop --billing"))
	}
	return nil
}

// BuyLookups are the store's answers the purchase rules need.
type BuyLookups struct {
	// Product finds a catalog entry (ENOTFOUND when there is none).
	Product func(sku string) (*Product, error)
	// FixedBilling reports the payment mode the account fixed on its first
	// purchase of a subscription type ("" when it has none).
	FixedBilling func(sku string) (string, error)
	// Company returns the name, as stored, of the buyer's company that
	// name names (ENOTFOUND when there is none). Nil: companies are not
	// checked here.
	Company func(name string) (string, error)
}

// PriceLines prices a normalized request against the catalog and the
// account's payment modes and companies. It returns the priced line items,
// the billing of each request line (the term its licenses get) and the
// total. Every bad line is reported at once (see LineError), so that a
// purchase file says everything that is wrong with it in one go; errors of
// the store itself end the check.
func PriceLines(r BuyRequest, look BuyLookups) ([]LineItem, []string, int64, error) {
	var items []LineItem
	terms := make([]string, len(r.Lines))
	// The payment mode of each subscription type is the one the first line
	// naming one chose; lines without one take it too.
	chosen := map[string]chosenBilling{}
	for i, l := range r.Lines {
		if _, ok := chosen[l.Product]; !ok && l.Billing != "" {
			chosen[l.Product] = chosenBilling{l.Billing, i}
		}
	}
	var total int64
	var bad lineErrors
	for i := range r.Lines {
		lineItems, term, err := priceLine(r, i, look, chosen)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				return nil, nil, 0, err // the store's own failure
			}
			bad = append(bad, *le)
			continue
		}
		terms[i] = term
		for _, it := range lineItems {
			items = append(items, it)
			total += it.AmountCents
		}
	}
	if err := bad.err(); err != nil {
		return nil, nil, 0, err
	}
	return items, terms, total, nil
}

// chosenBilling is the payment mode an earlier line of the same purchase
// chose for a subscription type.
type chosenBilling struct {
	billing string
	line    int
}

// priceLine prices line i: its items (the licenses, then the add-ons) and
// the term of its licenses. A rule it breaks is a *LineError.
func priceLine(r BuyRequest, i int, look BuyLookups, chosen map[string]chosenBilling) ([]LineItem, string, error) {
	l := r.Lines[i]
	p, err := look.Product(l.Product)
	if err != nil {
		return nil, "", asLineError(i, "product", err)
	}
	if p.Term == TermAddon {
		return nil, "", lineError(i, "product", Errorf(EINVALID, "%s is an add-on, not a license type", p.SKU).
			WithHint("add it to a purchase with --premium-support or --onboarding"))
	}
	company := l.Company
	if company != "" && look.Company != nil {
		if company, err = look.Company(l.Company); err != nil {
			return nil, "", asLineError(i, "company", err)
		}
	}
	item := LineItem{SKU: p.SKU, Description: p.Name, Quantity: l.Quantity, Company: company}
	var term string
	switch {
	case r.Trial:
		item.Description += " (trial)"
		term = LicenseTermPerpetual
		if p.Term == TermSubscription {
			term = LicenseTermMonthly
		}
	case p.Term == TermSubscription:
		billing, err := subscriptionBilling(p, l.Billing, chosen[l.Product], look.FixedBilling)
		if err != nil {
			return nil, "", asLineError(i, "billing", err)
		}
		item.Billing, term = billing, billing
		item.UnitPriceCents = p.MonthlyPriceCents
		if billing == BillingAnnual {
			item.UnitPriceCents = p.AnnualPriceCents
		}
	default:
		if l.Billing != "" {
			return nil, "", lineError(i, "billing", Errorf(EINVALID, "%s is a lifetime license: it has no payment mode", p.SKU).
				WithHint("drop --billing; it applies to subscription (Managed Backup) types only"))
		}
		term = LicenseTermPerpetual
		item.UnitPriceCents = p.PriceCents
	}
	item.AmountCents = item.UnitPriceCents * int64(item.Quantity)
	items := []LineItem{item}
	for _, addon := range []struct {
		want       bool
		sku, field string
	}{{l.PremiumSupport, SKUPremiumSupport, "premium_support"}, {l.Onboarding, SKUOnboarding, "onboarding"}} {
		if !addon.want {
			continue
		}
		a, err := look.Product(addon.sku)
		if err != nil {
			return nil, "", asLineError(i, addon.field, err)
		}
		qty := 1
		if a.PerLicense {
			qty = l.Quantity
		}
		items = append(items, LineItem{SKU: a.SKU, Description: a.Name + " for " + p.Name, Quantity: qty,
			UnitPriceCents: a.PriceCents, AmountCents: a.PriceCents * int64(qty), Company: company})
	}
	return items, term, nil
}

// subscriptionBilling is the payment mode of a subscription line: the
// one the account's first purchase of the type fixed, else the one the
// purchase chose (on line chosen.line), else none, which a first purchase
// must not leave open.
func subscriptionBilling(p *Product, asked string, chosen chosenBilling, fixedBilling func(string) (string, error)) (string, error) {
	fixed, err := fixedBilling(p.SKU)
	if err != nil {
		return "", err
	}
	earlier, inThisPurchase := chosen, chosen.billing != ""
	switch {
	case fixed != "" && asked != "" && asked != fixed:
		return "", Errorf(ECONFLICT, "the payment mode for %s is %s: it was fixed by your first purchase of this type", p.SKU, fixed).
			WithHint("drop --billing or use --billing %s", fixed)
	case fixed != "":
		return fixed, nil
	case inThisPurchase && asked != "" && asked != earlier.billing:
		// Not "fixed by your first purchase": there is none yet.
		return "", Errorf(ECONFLICT, "%s conflicts with %s on line %d of this purchase for %s", asked, earlier.billing, earlier.line+1, p.SKU).
			WithHint("a license type has one payment mode: use %s on every line of %s", earlier.billing, p.SKU)
	case inThisPurchase:
		return earlier.billing, nil
	case asked == "":
		return "", Errorf(EINVALID, "first purchase of %s: choose the payment mode, monthly or annual", p.SKU).
			WithHint("pass --billing monthly or --billing annual; the mode is fixed for this license type after the first purchase")
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

// FormatCents renders cents for people, with thousands separators:
// "299.00", "4,999,000.00". Machine formats carry the integer cents.
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign = "-"
	}
	units, rest := c/100, c%100
	if units < 0 {
		units, rest = -units, -rest
	} else if rest < 0 {
		rest = -rest
	}
	digits := strconv.FormatInt(units, 10)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return fmt.Sprintf("%s%s.%02d", sign, b.String(), rest)
}
