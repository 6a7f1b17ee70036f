package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// warnReceipt tells on stderr that a purchase's receipt could not be
// mailed, or that its payment waits for the card holder.
func warnReceipt(e env, p *licensing.Purchase) {
	if p == nil {
		return
	}
	if p.ReceiptError != "" {
		fmt.Fprintf(e.IO.ErrOut, "warning: the purchase is made, but its receipt was not emailed: %s\n", p.ReceiptError)
	}
	if p.PaymentStatus == licensing.PaymentPending {
		fmt.Fprintf(e.IO.ErrOut, "warning: %s is pending: the card holder must confirm the payment%s; its licenses are made when it completes\n",
			p.ID, orURL(p.PaymentURL))
	}
}

func orURL(u string) string {
	if u == "" {
		return ""
	}
	return " at " + u
}

type purchasesListOptions struct {
	env
	Filter   licensing.PurchaseFilter
	Since    string
	Filtered bool
}

func newPurchasesListCmd(f *Factory, runF func(*purchasesListOptions) error) *cobra.Command {
	o := &purchasesListOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "list [--kind purchase|renewal|refund] [--since DATE] [--company C]",
		Short: "List the acting account's purchases, renewals and refunds, newest first",
		Long: `List the purchases the acting account made: license and maintenance
purchases (kind purchase), renewal charges (kind renewal) and refunds (kind
refund, negative amounts). Each shows its total, payment status and what was
refunded of it.`,
		Example: `  licensectl purchases list
  licensectl purchases list --kind refund --since 2026-01-01
  licensectl purchases list --company Acme -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			since, err := parseSince(o.Since)
			if err != nil {
				return err
			}
			o.Filter.Since = since
			if err := o.Filter.Normalize(); err != nil {
				return err
			}
			o.Filtered = filtered(c, "limit")
			if runF != nil {
				return runF(o)
			}
			return purchasesListRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Filter.Kind, "kind", "", "only this kind: purchase, renewal or refund")
	fl.StringVar(&o.Since, "since", "", "only purchases made at or after this time (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&o.Filter.Company, "company", "", "only purchases with a line for this company")
	fl.IntVar(&o.Filter.Limit, "limit", 0, "at most this many purchases (0: all)")
	return c
}

// signedMoney is "$12.00 USD", or "-$12.00 USD" for a refund.
func signedMoney(cents int64, currency string) string {
	if cents < 0 {
		return "-$" + licensing.FormatCents(-cents) + " " + currency
	}
	return "$" + licensing.FormatCents(cents) + " " + currency
}

// purchaseRowColumns: at a narrow terminal the items go first, then the
// license count, the refunded amount, the date; kind and status stay.
func purchaseRowColumns() []output.Column[licensing.PurchaseRow] {
	type P = licensing.PurchaseRow
	return []output.Column[P]{
		{Header: "PURCHASE", Keep: true, Value: func(p P) string { return p.ID }},
		{Header: "KIND", Priority: 5, Value: func(p P) string { return p.Kind }},
		{Header: "CREATED", Priority: 4, Value: func(p P) string { return p.CreatedAt.Format(dateTimeLayout) },
			CSV: func(p P) string { return p.CreatedAt.Format(time.RFC3339) }},
		{Header: "TOTAL", Keep: true, Value: func(p P) string { return signedMoney(p.TotalCents, p.Currency) },
			CSV: func(p P) string { return strconv.FormatInt(p.TotalCents, 10) }},
		{Header: "STATUS", Priority: 6, Value: func(p P) string { return output.Label(p.PaymentStatus) }, CSV: func(p P) string { return p.PaymentStatus }},
		{Header: "REFUNDED", Priority: 3, Value: func(p P) string {
			if p.RefundedCents == 0 {
				return "-"
			}
			return signedMoney(p.RefundedCents, p.Currency)
		}, CSV: func(p P) string { return strconv.FormatInt(p.RefundedCents, 10) }},
		{Header: "LICENSES", Priority: 2, Value: func(p P) string { return strconv.Itoa(p.LicenseCount) }},
		{Header: "REFUND OF", Wide: true, Value: func(p P) string { return orDash(deref(p.RefundOf)) }, CSV: func(p P) string { return deref(p.RefundOf) }},
		{Header: "ITEMS", Priority: 1, Min: 20, Value: func(p P) string {
			parts := make([]string, 0, len(p.Items))
			for _, it := range p.Items {
				parts = append(parts, fmt.Sprintf("%d× %s", it.Quantity, it.Description))
			}
			return strings.Join(parts, "; ")
		}},
	}
}

func purchasesListRun(ctx context.Context, o *purchasesListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	rows, err := svc.ListPurchases(ctx, o.Filter)
	if err != nil {
		return err
	}
	empty := "No purchases yet: buy with `licensectl licenses buy`"
	if o.Filtered {
		empty = "No purchases match these filters"
	}
	return writeSlice(o.env, format, purchaseRowColumns(), rows, empty)
}

type purchasesShowOptions struct {
	env
	PurchaseID string
	Receipt    bool
}

func newPurchasesShowCmd(f *Factory, runF func(*purchasesShowOptions) error) *cobra.Command {
	o := &purchasesShowOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "show P-ID [--receipt]",
		Short: "Show a purchase: lines, totals, payment, its licenses and plans, refunds against it",
		Example: `  licensectl purchases show P-7K3D9QX2M1AB
  licensectl purchases show P-7K3D9QX2M1AB --receipt > receipt.txt
  licensectl purchases show P-7K3D9QX2M1AB -o json`,
		Args: exactArgs(1, "a purchase ID"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := licensing.NormalizePurchaseID(args[0])
			if err != nil {
				return err
			}
			o.PurchaseID = id
			if runF != nil {
				return runF(o)
			}
			return purchasesShowRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Receipt, "receipt", false, "print the plain-text receipt instead")
	return c
}

func purchasesShowRun(ctx context.Context, o *purchasesShowOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	p, err := svc.GetPurchase(ctx, o.PurchaseID)
	if err != nil {
		return err
	}
	if o.Receipt {
		_, err := io.WriteString(o.IO.Out, licensing.RenderReceipt(p))
		return err
	}
	return output.Object(o.IO.Out, format, p, func(w io.Writer) error { return writePurchaseDetail(w, p) })
}

func writePurchaseDetail(w io.Writer, p *licensing.PurchaseDetail) error {
	if err := writePurchase(w, &p.Purchase); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nKind: %s   Payment: %s   Created: %s\n", p.Kind, output.Label(p.PaymentStatus), p.CreatedAt.Format(time.RFC3339))
	if p.RefundOf != nil {
		fmt.Fprintf(w, "Refund of: %s\n", *p.RefundOf)
	}
	if p.Reason != "" {
		fmt.Fprintf(w, "Reason: %s\n", p.Reason)
	}
	if p.RefundedCents != 0 {
		fmt.Fprintf(w, "Refunded: %s\n", signedMoney(p.RefundedCents, p.Currency))
	}
	if len(p.Plans) > 0 {
		fmt.Fprintf(w, "\n%d maintenance plan(s): %s\n", len(p.Plans), strings.Join(p.Plans, ", "))
	}
	if len(p.Refunds) > 0 {
		fmt.Fprintf(w, "\nRefunds:\n")
		for _, r := range p.Refunds {
			fmt.Fprintf(w, "  %s  %s  %d license(s)  %s\n", r.ID, signedMoney(r.TotalCents, r.Currency), r.LicenseCount, r.CreatedAt.Format(time.RFC3339))
		}
	}
	return nil
}

type purchasesRefundOptions struct {
	env
	Request licensing.RefundRequest
}

func newPurchasesRefundCmd(f *Factory, runF func(*purchasesRefundOptions) error) *cobra.Command {
	o := &purchasesRefundOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "refund P-ID [--license KEY ...] [--reason TEXT] [--dry-run] [--yes]",
		Short: "Refund a purchase, whole or some of its licenses",
		Long: `Refund a purchase: every license of it not refunded yet, or only those
named with --license. Each license gives back its price and its add-ons; an
add-on charged once comes back with the line's last license.

A refunded license is revoked: it leaves ` + "`licenses list`" + ` (see it with
--include-revoked), validates as REVOKED and can no longer be activated or
attached; its maintenance plans end. The refund is a purchase of its own
(kind refund, negative amounts) and an audit event. It is all or nothing,
and idempotent: the same refund asked again answers the first one.

Only licenses that are not activated can be refunded, within the refund
window (refunds.window, default 30 days). --force refunds past the window and
deactivates activated licenses first: the vendor's operators only (scope
refunds:override) or the store's own host.

It lists what it would refund and asks first; --yes skips the question,
--dry-run only lists.`,
		Example: `  licensectl purchases refund P-7K3D9QX2M1AB --dry-run
  licensectl purchases refund P-7K3D9QX2M1AB --yes --reason "bought twice"
  licensectl purchases refund P-7K3D9QX2M1AB --license ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2 --yes`,
		Args: exactArgs(1, "a purchase ID"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Request.PurchaseID = args[0]
			if err := o.Request.Normalize(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return purchasesRefundRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&o.Request.Licenses, "license", nil, "refund only this license of the purchase (repeatable)")
	fl.StringVar(&o.Request.Reason, "reason", "", "why (kept with the refund and in the audit log)")
	fl.BoolVar(&o.Request.DryRun, "dry-run", false, "show what would be refunded; change nothing")
	fl.BoolVar(&o.Request.Force, "force", false, "refund past the window and deactivate activated licenses (operators)")
	return c
}

func purchasesRefundRun(ctx context.Context, o *purchasesRefundOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	if !o.Request.DryRun {
		q := o.Request
		q.DryRun = true
		preview, err := svc.RefundPurchase(ctx, q)
		if err != nil {
			return err
		}
		if !preview.Replayed {
			what := fmt.Sprintf("%d license(s) of %s for %s", len(preview.Licenses), o.Request.PurchaseID,
				signedMoney(-preview.TotalCents, preview.Currency))
			if !o.Config().Yes && o.IO.StdinTTY {
				if err := writePurchase(o.IO.ErrOut, preview); err != nil {
					return err
				}
			}
			if err := o.confirm("refund would revoke "+what, "Refund "+what+"? The licenses are revoked.",
				"nothing was refunded; --dry-run lists what would be"); err != nil {
				return err
			}
		}
	}
	p, err := svc.RefundPurchase(ctx, o.Request)
	if err != nil {
		return err
	}
	warnReceipt(o.env, p)
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, p, func(w io.Writer) error { return writeRefund(w, p) })
}

func writeRefund(w io.Writer, p *licensing.Purchase) error {
	switch {
	case p.DryRun:
		fmt.Fprintf(w, "Refund of %s (dry run: nothing was refunded)\n", deref(p.RefundOf))
	case p.Replayed:
		fmt.Fprintf(w, "Refund %s of %s (made before: nothing new was refunded)\n", p.ID, deref(p.RefundOf))
	default:
		fmt.Fprintf(w, "Refund %s of %s\n", p.ID, deref(p.RefundOf))
	}
	fmt.Fprintln(w)
	rows := make([][]string, 0, len(p.Items))
	for _, it := range p.Items {
		rows = append(rows, []string{it.Description, strconv.Itoa(it.Quantity), "$" + licensing.FormatCents(it.UnitPriceCents),
			"$" + licensing.FormatCents(it.AmountCents)})
	}
	if err := output.WriteTable(w, []string{"ITEM", "QTY", "UNIT", "AMOUNT"}, rows, false); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTotal: %s\n", signedMoney(p.TotalCents, p.Currency))
	verb := "revoked"
	if p.DryRun {
		verb = "would be revoked"
	}
	fmt.Fprintf(w, "%d license(s) %s\n", len(p.Licenses), verb)
	return nil
}
