package licensing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Purchase kinds.
const (
	PurchaseKindPurchase = "purchase"
	PurchaseKindRenewal  = "renewal"
	PurchaseKindRefund   = "refund"
)

// Payment statuses of a purchase.
const (
	PaymentPaid              = "paid"
	PaymentPending           = "pending"
	PaymentFailed            = "failed"
	PaymentRefunded          = "refunded"
	PaymentPartiallyRefunded = "partially_refunded"
)

// ValidityRevoked is the validity of a refunded license (licenses list
// --include-revoked); ValidRevoked is its validation code.
const (
	ValidityRevoked = "revoked"
	ValidRevoked    = "REVOKED"
)

// DefaultRefundWindow is how long after a purchase its buyer may refund it
// (config refunds.window).
const DefaultRefundWindow = 30 * 24 * time.Hour

// MaxRefundReason bounds a refund's reason.
const MaxRefundReason = 500

// PurchaseRow is one purchase of `purchases list`: everything but its
// license keys, which it counts.
type PurchaseRow struct {
	ID             string     `json:"purchase_id"`
	Kind           string     `json:"kind"`
	Account        string     `json:"account"`
	PurchaseEmail  string     `json:"purchase_email"`
	IdempotencyKey string     `json:"idempotency_key"`
	Items          []LineItem `json:"items"`
	TotalCents     int64      `json:"total_cents"`
	Currency       string     `json:"currency"`
	Billing        string     `json:"billing"`
	Trial          bool       `json:"trial"`
	PaymentStatus  string     `json:"payment_status"`
	RefundedCents  int64      `json:"refunded_cents"`
	ReceiptURL     *string    `json:"receipt_url"`
	RefundOf       *string    `json:"refund_of"`
	Reason         string     `json:"reason,omitempty"`
	PaymentRef     string     `json:"payment_ref,omitempty"`
	LicenseCount   int        `json:"license_count"`
	CreatedAt      time.Time  `json:"created_at"`
}

// PurchaseDetail is `purchases show`: the purchase, the licenses and
// maintenance plans it created, and the refunds against it.
type PurchaseDetail struct {
	Purchase
	Plans   []string      `json:"plans"`
	Refunds []PurchaseRow `json:"refunds"`
	// Seller names who sold it, for the receipt.
	Seller string `json:"seller"`
}

// PurchaseFilter selects purchases of the acting account.
type PurchaseFilter struct {
	Kind    string     // "" for every kind
	Since   *time.Time // only purchases made at or after
	Company string     // only purchases with a line for this company
	Limit   int        // 0: every one
}

// Normalize checks f.
func (f *PurchaseFilter) Normalize() error {
	f.Kind = strings.ToLower(strings.TrimSpace(f.Kind))
	switch f.Kind {
	case "", PurchaseKindPurchase, PurchaseKindRenewal, PurchaseKindRefund:
	default:
		return Errorf(EINVALID, "unknown purchase kind %q", clip(f.Kind)).WithHint("use purchase, renewal or refund")
	}
	f.Company = strings.TrimSpace(f.Company)
	if f.Limit < 0 {
		return Errorf(EINVALID, "--limit must not be negative")
	}
	return nil
}

// RefundRequest asks to refund a purchase: every license still refundable,
// or the licenses named.
type RefundRequest struct {
	PurchaseID string   `json:"-"`
	Licenses   []string `json:"licenses,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	DryRun     bool     `json:"dry_run,omitempty"`
	// Force refunds past the refund window and deactivates activated
	// licenses first: operators only (the refunds:override scope).
	Force bool `json:"force,omitempty"`
}

// Normalize checks r: the purchase ID's form, the keys' form (upper case,
// sorted, once each) and the reason's length.
func (r *RefundRequest) Normalize() error {
	id, err := NormalizePurchaseID(r.PurchaseID)
	if err != nil {
		return err
	}
	r.PurchaseID = id
	keys := make([]string, 0, len(r.Licenses))
	for _, k := range r.Licenses {
		key, err := ParseKey(k)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	r.Licenses = slices.Compact(keys)
	r.Reason = strings.TrimSpace(r.Reason)
	if len([]rune(r.Reason)) > MaxRefundReason || strings.ContainsFunc(r.Reason, func(c rune) bool { return c < ' ' && c != '\t' }) {
		return Errorf(EINVALID, "a refund reason is one line of at most %d characters", MaxRefundReason)
	}
	return nil
}

// RefundKey is the idempotency key a refund is stored under: the same
// refund asked twice (the same purchase and licenses, or the whole purchase)
// finds the first one.
func RefundKey(r RefundRequest) string {
	if len(r.Licenses) == 0 {
		return "refund-" + r.PurchaseID + "-all"
	}
	h, _ := RequestHash(r.Licenses)
	return "refund-" + r.PurchaseID + "-" + h[:16]
}

// RefundableLicense is a license of a purchase as a refund sees it.
type RefundableLicense struct {
	Key       string
	RefundID  string // the refund that revoked it; "" while it is not
	SeatsUsed int
}

// RefundPlan is what a refund takes back: its line items (negative
// amounts), the total (negative) and the licenses it revokes.
type RefundPlan struct {
	Items      []LineItem
	TotalCents int64
	Keys       []string
}

// PlanRefund prices the refund of licenses (want: keys; empty: every license
// not refunded yet) of a purchase with items and licenses (in the order the
// purchase created them, line by line). Each license gives back its line's
// unit price and its per-license add-ons; an add-on charged once for a line
// comes back with the line's last license.
func PlanRefund(items []LineItem, licenses []RefundableLicense, want []string) (*RefundPlan, error) {
	lines := refundLines(items)
	n := 0
	for _, l := range lines {
		n += l.item.Quantity
	}
	if n != len(licenses) {
		return nil, Errorf(EINTERNAL, "the purchase has %d licenses for %d on its lines", len(licenses), n)
	}
	wanted := map[string]bool{}
	for _, k := range want {
		wanted[k] = true
	}
	found := 0
	plan := &RefundPlan{}
	at := 0
	for _, ln := range lines {
		mine := licenses[at : at+ln.item.Quantity]
		at += ln.item.Quantity
		refund, left := 0, 0
		for _, l := range mine {
			switch {
			case wanted[l.Key] && l.RefundID != "":
				return nil, Errorf(ECONFLICT, "license %s was already refunded (%s)", l.Key, l.RefundID)
			case wanted[l.Key] || (len(want) == 0 && l.RefundID == ""):
				if wanted[l.Key] {
					found++
				}
				refund++
				plan.Keys = append(plan.Keys, l.Key)
			case l.RefundID == "":
				left++
			}
		}
		if refund == 0 {
			continue
		}
		plan.add(ln.item, refund)
		for _, a := range ln.addons {
			switch {
			case a.Quantity == ln.item.Quantity && ln.item.Quantity > 1:
				plan.add(a, refund) // per license
			case left == 0:
				plan.add(a, a.Quantity) // once for the line: with its last license
			}
		}
	}
	if found != len(want) {
		for _, k := range want {
			if !slices.ContainsFunc(licenses, func(l RefundableLicense) bool { return l.Key == k }) {
				return nil, Errorf(ENOTFOUND, "license %s is not one of this purchase's", k)
			}
		}
	}
	if len(plan.Keys) == 0 {
		return nil, Errorf(ECONFLICT, "every license of this purchase was refunded already")
	}
	return plan, nil
}

func (p *RefundPlan) add(it LineItem, qty int) {
	amount := -it.UnitPriceCents * int64(qty)
	p.Items = append(p.Items, LineItem{SKU: it.SKU, Description: "Refund: " + it.Description, Quantity: qty,
		UnitPriceCents: -it.UnitPriceCents, AmountCents: amount, Company: it.Company, Billing: it.Billing})
	p.TotalCents += amount
}

// refundLine is a license line of a purchase with the add-on items after it.
type refundLine struct {
	item   LineItem
	addons []LineItem
}

// refundLines groups a purchase's items into its license lines: priceLine
// writes each line's license item, then the line's add-ons.
func refundLines(items []LineItem) []refundLine {
	var lines []refundLine
	for _, it := range items {
		if (it.SKU == SKUPremiumSupport || it.SKU == SKUOnboarding) && len(lines) > 0 {
			l := &lines[len(lines)-1]
			l.addons = append(l.addons, it)
			continue
		}
		lines = append(lines, refundLine{item: it})
	}
	return lines
}

// PaymentStatusAfterRefund is a purchase's status once refunded of total.
func PaymentStatusAfterRefund(total, refunded int64) string {
	if refunded >= total {
		return PaymentRefunded
	}
	return PaymentPartiallyRefunded
}

// CheckRefundable says whether a purchase may be refunded at all, as of now,
// within window (force: past it).
func CheckRefundable(p *Purchase, window time.Duration, force bool, now time.Time) error {
	switch {
	case p.Kind == PurchaseKindRefund:
		return Errorf(EINVALID, "%s is a refund; refund the purchase it refunds (%s)", p.ID, deref(p.RefundOf))
	case p.Kind == PurchaseKindRenewal:
		return Errorf(EINVALID, "%s is a renewal charge: refunding renewals is not supported", p.ID).
			WithHint("to stop the next renewals, run `licensectl licenses cancel KEY` or `licensectl maintenance cancel ID`")
	case p.Trial:
		return Errorf(EINVALID, "%s is a trial: there is nothing to refund", p.ID)
	case p.PaymentStatus == PaymentPending || p.PaymentStatus == PaymentFailed:
		return Errorf(ECONFLICT, "%s is %s: there is no payment to refund", p.ID, p.PaymentStatus)
	case p.PaymentStatus == PaymentRefunded:
		return Errorf(ECONFLICT, "%s was refunded already", p.ID)
	case !force && now.After(p.CreatedAt.Add(window)):
		return Errorf(EFORBIDDEN, "%s was bought %s: past the %s refund window", p.ID, p.CreatedAt.Format("2006-01-02"), FormatWindow(window)).
			WithHint("an operator can refund it with --force")
	}
	return nil
}

// FormatWindow is a refund window in days ("30 days") or as a duration.
func FormatWindow(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RenderReceipt is a purchase's plain-text receipt: seller, buyer, lines,
// total and the payment reference.
func RenderReceipt(p *PurchaseDetail) string {
	var b strings.Builder
	title := "Receipt"
	if p.Kind == PurchaseKindRefund {
		title = "Refund receipt"
	}
	seller := p.Seller
	if seller == "" {
		seller = "licensectl"
	}
	fmt.Fprintf(&b, "%s %s\n\n", title, p.ID)
	fmt.Fprintf(&b, "Seller:   %s\n", seller)
	fmt.Fprintf(&b, "Buyer:    %s\n", p.PurchaseEmail)
	if p.Account != "" && p.Account != p.PurchaseEmail {
		fmt.Fprintf(&b, "Account:  %s\n", p.Account)
	}
	fmt.Fprintf(&b, "Date:     %s\n", p.CreatedAt.Format(time.RFC3339))
	if p.RefundOf != nil {
		fmt.Fprintf(&b, "Refunds:  %s\n", *p.RefundOf)
	}
	if p.Reason != "" {
		fmt.Fprintf(&b, "Reason:   %s\n", p.Reason)
	}
	b.WriteString("\n")
	width := len("Description")
	for _, it := range p.Items {
		width = max(width, len([]rune(it.Description)))
	}
	width = min(width, 60)
	fmt.Fprintf(&b, "%-*s  %8s  %12s  %12s\n", width, "Description", "Qty", "Unit", "Amount")
	for _, it := range p.Items {
		d := it.Description
		if r := []rune(d); len(r) > width {
			d = string(r[:width-1]) + "…"
		}
		fmt.Fprintf(&b, "%-*s  %8d  %12s  %12s\n", width, d, it.Quantity, FormatCents(it.UnitPriceCents), FormatCents(it.AmountCents))
	}
	rule := strings.Repeat("-", width+2+8+2+12+2+12)
	fmt.Fprintf(&b, "%s\n", rule)
	fmt.Fprintf(&b, "%-*s  %8s  %12s  %12s\n", width, "Tax", "", "", FormatCents(0))
	fmt.Fprintf(&b, "%-*s  %8s  %12s  %12s %s\n", width, "Total", "", "", FormatCents(p.TotalCents), p.Currency)
	if p.RefundedCents != 0 {
		fmt.Fprintf(&b, "%-*s  %8s  %12s  %12s %s\n", width, "Refunded", "", "", FormatCents(-p.RefundedCents), p.Currency)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Payment:  %s\n", p.PaymentStatus)
	ref := p.PaymentRef
	if ref == "" {
		ref = "recorded (no payment provider)"
	}
	fmt.Fprintf(&b, "Reference: %s\n", ref)
	if n := len(p.Licenses); n > 0 {
		fmt.Fprintf(&b, "Licenses: %d\n", n)
	}
	if p.ReceiptURL != nil {
		fmt.Fprintf(&b, "Online:   %s\n", *p.ReceiptURL)
	}
	return b.String()
}

// ReceiptMail is the mail that sends a purchase's receipt to its purchase
// email.
func ReceiptMail(p *PurchaseDetail) Mail {
	subject := "Your receipt for " + p.ID
	if p.Kind == PurchaseKindRefund {
		subject = "Your refund " + p.ID
	}
	return Mail{To: p.PurchaseEmail, Subject: subject, Body: RenderReceipt(p) +
		"\nSee it any time with: licensectl purchases show " + p.ID + " --receipt\n"}
}

// MoneyService lists purchases, refunds them and cancels subscriptions and
// maintenance plans of the acting account.
type MoneyService interface {
	// ListPurchases lists the acting account's purchases, newest first.
	ListPurchases(ctx context.Context, f PurchaseFilter) ([]PurchaseRow, error)
	// GetPurchase shows one purchase of the acting account.
	GetPurchase(ctx context.Context, id string) (*PurchaseDetail, error)
	// RefundPurchase refunds a purchase, whole or some of its licenses, all
	// or nothing; the same refund asked again answers the first (Replayed).
	RefundPurchase(ctx context.Context, req RefundRequest) (*Purchase, error)
	// CancelLicense stops a subscription's renewals (undo: resumes them
	// while its paid period lasts).
	CancelLicense(ctx context.Context, key string, undo bool) (*License, error)
	// CancelMaintenance stops a maintenance plan's renewals (undo: resumes
	// them while the plan lasts).
	CancelMaintenance(ctx context.Context, id string, undo bool) (*MaintenancePlan, error)
}

// CheckCancel says whether a license's renewals may be cancelled (or, undo,
// resumed) as of now: subscriptions only, while their paid period lasts.
func CheckCancel(l *License, undo bool, now time.Time) error {
	if l.Kind == KindTrial || l.Term == LicenseTermPerpetual {
		what := "a lifetime license"
		if l.Kind == KindTrial {
			what = "a trial"
		}
		return Errorf(EINVALID, "license %s is %s: only subscriptions renew, so only they can be cancelled", l.Key, what).
			WithHint("to get a purchase's money back, see `licensectl purchases refund --help`")
	}
	if l.ExpiresAt != nil && !l.ExpiresAt.After(now) {
		if undo {
			return Errorf(ECONFLICT, "subscription %s ended on %s: it cannot be resumed", l.Key, l.ExpiresAt.Format("2006-01-02")).
				WithHint("buy a new subscription with `licensectl licenses buy --product %s`", l.Product)
		}
		return Errorf(ECONFLICT, "subscription %s ended on %s: there is nothing to cancel", l.Key, l.ExpiresAt.Format("2006-01-02"))
	}
	return nil
}
