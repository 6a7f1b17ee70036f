package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
	"github.com/licensectl/licensectl/internal/purchasecsv"
)

type licensesBuyOptions struct {
	env
	// Line is the purchase given by flags; CSVFile names a purchase file
	// instead (read when the command runs).
	Line    licensing.BuyLine
	Request licensing.BuyRequest
	CSVFile string
	DryRun  bool
}

func newLicensesBuyCmd(f *Factory, runF func(*licensesBuyOptions) error) *cobra.Command {
	o := &licensesBuyOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "buy --product SKU [--quantity N] | --from-csv FILE",
		Short: "Buy licenses: a quantity of one type, or many lines from a CSV file",
		Long: `Buy licenses of one type (--product SKU, --quantity N), matched to a company
or placed in the global pool, with optional add-ons. Subscription (Managed
Backup) types need a payment mode, --billing monthly|annual, on the account's
first purchase of that type; later purchases reuse it.

--from-csv buys many lines in one purchase; its header is
product,quantity,company,billing,premium_support,onboarding. Every row is
checked first, against the catalog and your earlier purchases too: each bad
row is reported as FILE:LINE: column "NAME": what is wrong, all at once and
in file order, and nothing is bought (exit 2).

Every purchase carries an idempotency key (one is made up if you give none):
run the same command with the same --idempotency-key again and you get the
original purchase back, never a second one.`,
		Example: `  licensectl licenses buy --product backup-ultimate --quantity 5
  licensectl licenses buy --product mbs-server --quantity 50 --billing annual --company "Acme Dental" --premium-support
  licensectl licenses buy --product mbs-desktop --trial
  licensectl licenses buy --from-csv order.csv --idempotency-key order-2026-11 --dry-run`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			fl := c.Flags()
			if o.CSVFile != "" {
				for _, name := range []string{"product", "quantity", "company", "billing", "premium-support", "onboarding"} {
					if changed(fl, name) {
						return licensing.Errorf(licensing.EINVALID, "--%s cannot be combined with --from-csv: put it in the file", name)
					}
				}
			} else {
				if o.Line.Product == "" {
					return licensing.Errorf(licensing.EINVALID, "--product is required").
						WithHint("see `licensectl products list` for SKUs, or use --from-csv FILE")
				}
				o.Request.Lines = []licensing.BuyLine{o.Line}
				if err := o.Request.Normalize(); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(o)
			}
			return licensesBuyRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Line.Product, "product", "", "license type to buy (`SKU`; see licensectl products list)")
	fl.IntVar(&o.Line.Quantity, "quantity", 1, fmt.Sprintf("how many licenses (1..%d)", licensing.MaxQuantity))
	fl.StringVar(&o.Line.Company, "company", "", "match the licenses to this company (default: the global pool)")
	fl.StringVar(&o.Line.Billing, "billing", "", "payment mode for subscriptions: monthly or annual (first purchase only)")
	fl.BoolVar(&o.Line.PremiumSupport, "premium-support", false, "add Premium Support")
	fl.BoolVar(&o.Line.Onboarding, "onboarding", false, "add Onboarding")
	fl.BoolVar(&o.Request.Trial, "trial", false, fmt.Sprintf("request free trial licenses (%d days, once per type)", licensing.TrialDays))
	fl.StringVar(&o.Request.IdempotencyKey, "idempotency-key", "", "a retry with the same key returns the original purchase")
	fl.StringVar(&o.Request.PurchaseEmail, "purchase-email", "", "buy under another email (its account, or the one created for it later, gets the licenses)")
	fl.StringVar(&o.CSVFile, "from-csv", "", "buy the lines of this CSV file in one purchase")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print line items and total, buy nothing")
	return c
}

func licensesBuyRun(ctx context.Context, o *licensesBuyOptions) error {
	req := o.Request
	var file *purchasecsv.File
	if o.CSVFile != "" {
		var err error
		if file, err = readPurchaseCSV(o.CSVFile); err != nil {
			return err
		}
		req.Lines = file.Lines() // its rows are checked whole, below
	}
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	if file != nil {
		if err := checkPurchaseFile(ctx, svc, file, req); err != nil {
			return err
		}
	}
	var p *licensing.Purchase
	if o.DryRun {
		p, err = svc.Quote(ctx, req)
	} else {
		bar := o.progress("Buying licenses", totalQuantity(req.Lines), format)
		p, err = svc.Buy(ctx, req, bar.set)
		bar.done()
	}
	if err != nil {
		return err
	}
	warnReceipt(o.env, p)
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, p, func(w io.Writer) error {
		if err := writePurchase(w, p); err != nil {
			return err
		}
		return writeMaintenanceOffer(ctx, w, svc, p)
	})
}

func totalQuantity(lines []licensing.BuyLine) int {
	n := 0
	for _, l := range lines {
		n += l.Quantity
	}
	return n
}

func readPurchaseCSV(path string) (*purchasecsv.File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "cannot read %s: %v", path, unwrapPathError(err))
	}
	defer file.Close()
	return purchasecsv.Parse(file, path)
}

// checkPurchaseFile checks the good rows of a purchase file against the
// store with the rules a purchase applies (a quote: unknown products and
// companies, payment modes fixed by earlier purchases) and answers every
// bad row of the file at once, in file order. The purchase itself applies
// the rules again in its own transaction.
func checkPurchaseFile(ctx context.Context, svc licensing.Services, file *purchasecsv.File, req licensing.BuyRequest) error {
	if len(file.Rows) > 0 {
		if _, err := svc.Quote(ctx, req); err != nil {
			lines := licensing.ErrorLines(err)
			switch {
			case lines != nil:
				file.Add(lines)
			case len(file.Bad) == 0 || !licensing.IsDomain(err) || licensing.Temporary(err):
				return err // about the whole purchase, or the store's own failure
			default:
				file.Bad = append(file.Bad, purchasecsv.RowError{Message: licensing.ErrorMessage(err)})
			}
		}
	}
	return file.Err()
}

func writePurchase(w io.Writer, p *licensing.Purchase) error {
	title := "Purchase " + p.ID
	if p.Kind == licensing.PurchaseKindRefund {
		title = "Refund " + p.ID + " of " + deref(p.RefundOf)
	}
	switch {
	case p.DryRun:
		title = "Quote (dry run: nothing was bought)"
	case p.Replayed:
		title += " (already made with this idempotency key: nothing new was bought)"
	}
	fmt.Fprintf(w, "%s\n", title)
	if !p.DryRun {
		fmt.Fprintf(w, "Purchase email: %s   Idempotency key: %s\n", p.PurchaseEmail, p.IdempotencyKey)
	}
	fmt.Fprintln(w)
	rows := make([][]string, 0, len(p.Items))
	for _, it := range p.Items {
		company := it.Company
		if company == "" {
			company = "(pool)"
		}
		rows = append(rows, []string{it.Description, strconv.Itoa(it.Quantity), money(it.UnitPriceCents), money(it.AmountCents), output.Label(it.Billing), company})
	}
	if err := output.WriteTable(w, []string{"ITEM", "QTY", "UNIT", "AMOUNT", "BILLING", "COMPANY"}, rows, false); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTotal: $%s %s\n", licensing.FormatCents(p.TotalCents), p.Currency)
	if len(p.Licenses) > 0 {
		fmt.Fprintf(w, "\n%d license(s):\n", len(p.Licenses))
		const show = 10
		for i, k := range p.Licenses {
			if i == show {
				fmt.Fprintf(w, "  ... and %d more: licensectl licenses list --search %s\n", len(p.Licenses)-show, p.ID)
				break
			}
			fmt.Fprintf(w, "  %s\n", k)
		}
	}
	return nil
}
