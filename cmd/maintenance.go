package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newMaintenanceCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "maintenance",
		Aliases: []string{"maint"},
		Short:   "Buy, list, assign and switch maintenance plans of lifetime licenses",
		Long: `A lifetime license includes no upgrades or support: maintenance adds them, one
year at a time, for 20% of the product's price rounded to whole currency units.
A plan runs one year from its assignment and renews every year while its
auto-renew is on (see ` + "`licensectl renewals`" + `). Subscriptions (Managed
Backup) need no maintenance.`,
	}
	cmd.AddCommand(newMaintenanceBuyCmd(f, nil), newMaintenanceListCmd(f, nil), newMaintenanceAssignCmd(f, nil), newMaintenanceSetCmd(f, nil),
		newMaintenanceCancelCmd(f, nil))
	return cmd
}

type maintenanceBuyOptions struct {
	env
	Request   licensing.MaintenanceBuyRequest
	AutoRenew bool
	DryRun    bool
}

func newMaintenanceBuyCmd(f *Factory, runF func(*maintenanceBuyOptions) error) *cobra.Command {
	o := &maintenanceBuyOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "buy KEY | --all [--company C] [--product SKU] | --unassigned --product SKU [--quantity N]",
		Short: "Buy maintenance for one license, for every license that needs it, or to keep available",
		Long: `Buy one year of maintenance.

  KEY           one plan for that license, assigned at once. It runs one year
                from now, or, when the license has an active plan, one year
                from the day that plan ends.
  --all         one plan for every lifetime license of the account with no
                active plan (narrow with --company and --product), in one
                purchase. It shows the count and total and asks before
                buying; --yes skips the question and is required when stdin
                is not a terminal.
  --unassigned  plans of one product left available, to assign later with
                ` + "`licensectl maintenance assign`" + `.

Plans renew every year unless bought with --auto-renew=false. Maintenance is
always bought with the account's login email. --dry-run shows the purchase and
buys nothing.`,
		Example: `  licensectl maintenance buy 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4
  licensectl maintenance buy --all --dry-run
  licensectl maintenance buy --all --company "Acme Dental" --yes
  licensectl maintenance buy --unassigned --product backup-server --quantity 5`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return licensing.Errorf(licensing.EINVALID, "%s takes at most one license key, got %d arguments", c.CommandPath(), len(args)).
					WithHint("for many licenses use --all, narrowed with --company or --product")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				key, err := licensing.ParseKey(args[0])
				if err != nil {
					return err
				}
				o.Request.Key = key
			}
			o.Request.NoAutoRenew = !o.AutoRenew
			if err := o.Request.Normalize(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return maintenanceBuyRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&o.Request.All, "all", false, "one plan for every license that has no active plan")
	fl.BoolVar(&o.Request.Unassigned, "unassigned", false, "buy plans that stay available, to assign later")
	fl.StringVar(&o.Request.Company, "company", "", "with --all: only licenses matched to this company")
	fl.StringVar(&o.Request.Product, "product", "", "with --all: only this license type; with --unassigned: the plans' product")
	fl.IntVar(&o.Request.Quantity, "quantity", 0, "with --unassigned: how many plans (default 1)")
	fl.BoolVar(&o.AutoRenew, "auto-renew", true, "renew the plans every year")
	fl.StringVar(&o.Request.IdempotencyKey, "idempotency-key", "", "a retry with the same key returns the original purchase")
	fl.StringVar(&o.Request.PurchaseEmail, "purchase-email", "", "must be the account's login email: maintenance is bought with no other")
	fl.BoolVar(&o.DryRun, "dry-run", false, "show the plans and the total, buy nothing")
	return c
}

func maintenanceBuyRun(ctx context.Context, o *maintenanceBuyOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	var p *licensing.MaintenancePurchase
	if o.DryRun {
		p, err = svc.QuoteMaintenance(ctx, o.Request)
	} else {
		p, err = o.buyMaintenance(ctx, svc, o.Request, format)
	}
	if err != nil || p == nil {
		return err
	}
	if o.quiet() && !o.DryRun {
		return nil
	}
	return output.Object(o.IO.Out, format, p, func(w io.Writer) error { return writeMaintenancePurchase(w, p) })
}

// buyMaintenance buys, asking first for --all: it quotes, shows the count and
// total, and goes on only on a yes. The purchase applies the rules again in
// its own transaction.
func (e env) buyMaintenance(ctx context.Context, svc licensing.MaintenanceService, req licensing.MaintenanceBuyRequest, format output.Format) (*licensing.MaintenancePurchase, error) {
	total := req.Quantity
	if req.All {
		q, err := svc.QuoteMaintenance(ctx, req)
		if err != nil {
			return nil, err
		}
		if q.Count > 0 {
			if err := e.confirmMaintenance(q); err != nil {
				return nil, err
			}
		}
		total = q.Count
	}
	bar := e.progress("Buying maintenance", total, format)
	p, err := svc.BuyMaintenance(ctx, req, bar.set)
	bar.done()
	return p, err
}

// confirmMaintenance shows a bulk quote on stderr and asks whether to buy it.
// Without a terminal there is nobody to ask: --yes must say it up front.
func (e env) confirmMaintenance(q *licensing.MaintenancePurchase) error {
	what := fmt.Sprintf("%d maintenance plan(s) for $%s %s", q.Count, licensing.FormatCents(q.TotalCents), q.Currency)
	if !e.Config().Yes && e.IO.StdinTTY {
		if err := writeMaintenanceSummary(e.IO.ErrOut, q); err != nil {
			return err
		}
	}
	return e.confirm("--all would buy "+what, "Buy "+what+", one year each?", "nothing was bought; --dry-run lists the plans")
}

// writeMaintenanceSummary prints a maintenance quote's lines and total.
func writeMaintenanceSummary(w io.Writer, p *licensing.MaintenancePurchase) error {
	rows := make([][]string, 0, len(p.Items))
	for _, it := range p.Items {
		rows = append(rows, []string{it.Description, strconv.Itoa(it.Quantity), money(it.UnitPriceCents), money(it.AmountCents)})
	}
	if err := output.WriteTable(w, []string{"ITEM", "QTY", "UNIT", "AMOUNT"}, rows, false); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d plan(s)   Total: $%s %s\n", p.Count, licensing.FormatCents(p.TotalCents), p.Currency)
	return err
}

// planListShown is how many plans a purchase prints for people; -o json
// prints them all.
const planListShown = 10

func writeMaintenancePurchase(w io.Writer, p *licensing.MaintenancePurchase) error {
	if p.Count == 0 {
		_, err := fmt.Fprintln(w, "No license needs maintenance: nothing to buy")
		return err
	}
	title := "Purchase " + p.ID
	switch {
	case p.DryRun:
		title = "Quote (dry run: nothing was bought)"
	case p.Replayed:
		title += " (already made with this idempotency key: nothing new was bought)"
	}
	fmt.Fprintln(w, title)
	if !p.DryRun {
		fmt.Fprintf(w, "Purchase email: %s   Idempotency key: %s\n", p.PurchaseEmail, p.IdempotencyKey)
	}
	fmt.Fprintln(w)
	if err := writeMaintenanceSummary(w, p); err != nil {
		return err
	}
	renew := "on"
	if len(p.Plans) > 0 && !p.Plans[0].AutoRenew {
		renew = "off"
	}
	fmt.Fprintf(w, "\nPlans (auto-renew %s):\n", renew)
	for i, m := range p.Plans {
		if i == planListShown {
			fmt.Fprintf(w, "  ... and %d more: licensectl maintenance list\n", len(p.Plans)-planListShown)
			break
		}
		id := m.ID
		if id == "" {
			id = "(new plan)"
		}
		if m.LicenseKey == nil {
			fmt.Fprintf(w, "  %s  %s  available: runs one year from its assignment\n", id, m.Product)
			continue
		}
		fmt.Fprintf(w, "  %s  %s  %s to %s", id, *m.LicenseKey, m.StartsAt.Format(dateLayout), m.EndsAt.Format(dateLayout))
		if m.StartsAt.After(p.CreatedAt) {
			fmt.Fprintf(w, "  (starts when the current plan ends, %s)", m.StartsAt.Format(dateLayout))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// writeMaintenanceOffer follows a purchase of lifetime licenses with what
// their yearly maintenance costs, so every preview shows it.
func writeMaintenanceOffer(ctx context.Context, w io.Writer, catalog licensing.CatalogService, p *licensing.Purchase) error {
	if p.Trial {
		return nil
	}
	for _, it := range p.Items {
		pr, err := catalog.FindProduct(ctx, it.SKU)
		if err != nil || pr.Term != licensing.TermPerpetual || pr.MaintenancePriceCents == 0 {
			continue // add-ons and subscriptions carry no maintenance
		}
		fmt.Fprintf(w, "\nMaintenance for %s (optional): $%s per license per year: licensectl maintenance buy --all --product %s\n",
			pr.Name, licensing.FormatCents(pr.MaintenancePriceCents), pr.SKU)
	}
	return nil
}

func maintenanceColumns() []output.Column[licensing.MaintenancePlan] {
	type M = licensing.MaintenancePlan
	day := func(t *time.Time) string { return date(t) }
	return []output.Column[M]{
		{Header: "ID", Keep: true, Value: func(m M) string { return m.ID }},
		{Header: "LICENSE", Field: "license_key", Keep: true, Value: func(m M) string {
			if m.LicenseKey == nil {
				return "(available)"
			}
			return *m.LicenseKey
		}, CSV: func(m M) string { return deref(m.LicenseKey) }},
		{Header: "PRODUCT", Priority: 7, Whole: true, Value: func(m M) string { return m.Product }},
		{Header: "STATUS", Enum: true, Keep: true, Value: func(m M) string { return m.Status }},
		{Header: "STARTS", Field: "starts_at", Priority: 4, Whole: true, Value: func(m M) string { return day(m.StartsAt) }, CSV: func(m M) string { return rfc3339(m.StartsAt) }},
		{Header: "ENDS", Field: "ends_at", Priority: 8, Whole: true, Value: func(m M) string { return day(m.EndsAt) }, CSV: func(m M) string { return rfc3339(m.EndsAt) }},
		{Header: "AUTO-RENEW", Enum: true, Priority: 5, Value: func(m M) string { return strconv.FormatBool(m.AutoRenew) }},
		{Header: "PRICE", Field: "price_cents", Priority: 6, Value: func(m M) string { return money(m.PriceCents) }, CSV: func(m M) string { return strconv.FormatInt(m.PriceCents, 10) }},
		{Header: "PURCHASE", Field: "purchase_id", Wide: true, Value: func(m M) string { return m.PurchaseID }},
	}
}

type maintenanceListOptions struct {
	env
	Filter licensing.MaintenanceFilter
}

func newMaintenanceListCmd(f *Factory, runF func(*maintenanceListOptions) error) *cobra.Command {
	o := &maintenanceListOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "list [--available] [--license KEY]",
		Short: "List maintenance plans: active, expired and available",
		Example: `  licensectl maintenance list
  licensectl maintenance list --available`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.Filter.License != "" {
				key, err := licensing.ParseKey(o.Filter.License)
				if err != nil {
					return err
				}
				o.Filter.License = key
			}
			if runF != nil {
				return runF(o)
			}
			return maintenanceListRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Filter.Available, "available", false, "only plans not assigned to a license yet")
	c.Flags().StringVar(&o.Filter.License, "license", "", "only the plans of this license")
	return c
}

func maintenanceListRun(ctx context.Context, o *maintenanceListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	plans, err := svc.ListMaintenance(ctx, o.Filter)
	if err != nil {
		return err
	}
	empty := "No maintenance plans yet — buy one with `licensectl maintenance buy KEY`"
	switch {
	case o.Filter.License != "":
		empty = fmt.Sprintf("License %s has no maintenance plans", o.Filter.License)
	case o.Filter.Available:
		empty = "No maintenance plans are available — buy some with `licensectl maintenance buy --unassigned --product SKU`"
	}
	return writeSlice(o.env, format, maintenanceColumns(), plans, empty)
}

type maintenanceAssignOptions struct {
	env
	ID  string
	Key string
}

func newMaintenanceAssignCmd(f *Factory, runF func(*maintenanceAssignOptions) error) *cobra.Command {
	o := &maintenanceAssignOptions{env: f.env()}
	return &cobra.Command{
		Use:   "assign MAINTENANCE_ID KEY",
		Short: "Assign an available plan to a license of its product with no active plan",
		Long: `Assign an available maintenance plan to a license. The plan must be for the
license's product, not assigned yet, and the license must have no active plan.
The plan runs one year from now.`,
		Example: "  licensectl maintenance assign M-7K3D9QX2M1AB 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4",
		Args:    exactArgs(2, "a maintenance plan id and a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := licensing.ParseKey(args[1])
			if err != nil {
				return err
			}
			o.ID, o.Key = args[0], key
			if runF != nil {
				return runF(o)
			}
			return maintenanceAssignRun(c.Context(), o)
		},
	}
}

func maintenanceAssignRun(ctx context.Context, o *maintenanceAssignOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	m, err := svc.AssignMaintenance(ctx, o.ID, o.Key)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, m, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Assigned %s to %s: maintenance from %s till %s, auto-renew %s\n",
			m.ID, *m.LicenseKey, m.StartsAt.Format(dateLayout), m.EndsAt.Format(dateLayout), yesNo(m.AutoRenew))
		return err
	})
}

type maintenanceSetOptions struct {
	env
	ID     string
	Update licensing.MaintenanceUpdate
}

func newMaintenanceSetCmd(f *Factory, runF func(*maintenanceSetOptions) error) *cobra.Command {
	o := &maintenanceSetOptions{env: f.env()}
	var autoRenew bool
	c := &cobra.Command{
		Use:     "set MAINTENANCE_ID --auto-renew=BOOL",
		Short:   "Switch a plan's yearly auto-renew on or off",
		Example: "  licensectl maintenance set M-7K3D9QX2M1AB --auto-renew=false",
		Args:    exactArgs(1, "a maintenance plan id"),
		RunE: func(c *cobra.Command, args []string) error {
			if changed(c.Flags(), "auto-renew") {
				o.Update.AutoRenew = &autoRenew
			} else {
				return licensing.Errorf(licensing.EINVALID, "nothing to change").WithHint("pass --auto-renew=true or --auto-renew=false")
			}
			o.ID = args[0]
			if runF != nil {
				return runF(o)
			}
			return maintenanceSetRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&autoRenew, "auto-renew", false, "renew the plan every year")
	return c
}

func maintenanceSetRun(ctx context.Context, o *maintenanceSetOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	m, err := svc.UpdateMaintenance(ctx, o.ID, o.Update)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, m, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Updated %s: auto-renew %s\n", m.ID, yesNo(m.AutoRenew))
		return err
	})
}

// writePlanHistory lists a license's maintenance plans under `licenses
// show`, oldest first.
func writePlanHistory(w io.Writer, plans []licensing.MaintenancePlan) error {
	if len(plans) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nMaintenance plans:")
	rows := make([][]string, 0, len(plans))
	for _, m := range plans {
		rows = append(rows, []string{m.ID, date(m.StartsAt), date(m.EndsAt), m.Status, yesNo(m.AutoRenew), money(m.PriceCents), m.PurchaseID})
	}
	return output.WriteTable(w, []string{"ID", "STARTS", "ENDS", "STATUS", "AUTO-RENEW", "PRICE", "PURCHASE"}, rows, false)
}
