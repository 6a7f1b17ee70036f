package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
	"github.com/licensectl/licensectl/internal/purchasecsv"
)

func newLicensesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "licenses", Aliases: []string{"license", "lic"}, Short: "Buy, list, show and change licenses"}
	cmd.AddCommand(newLicensesListCmd(f), newLicensesShowCmd(f), newLicensesBuyCmd(f), newLicensesSetCmd(f), newLicensesAttachCmd(f),
		newLicensesValidateCmd(f), newLicensesDownloadCmd(f))
	return cmd
}

// parseKey checks a key as typed; a malformed key is a usage error, not "not found".
func parseKey(s string) (string, error) {
	k, err := licensekey.Parse(s)
	if err != nil {
		return "", licensing.Errorf(licensing.EINVALID, "malformed license key %q", clipArg(s)).
			WithHint("keys look like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX (Crockford base32 with a check character)")
	}
	return k, nil
}

func clipArg(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

type listOptions struct {
	filter licensing.LicenseFilter
	sort   string
	group  bool
}

func newLicensesListCmd(f *Factory) *cobra.Command {
	var o listOptions
	c := &cobra.Command{
		Use:   "list",
		Short: "List, search, filter, sort and group the acting account's licenses",
		Long: `List the acting account's licenses. Filters combine; --search matches key,
product, company and purchase id. --sort takes attributes separated by commas,
a leading "-" sorts descending. --group shows one row per license type with
counts; list a type's licenses with --product SKU.

Output streams: -o json and -o csv print any number of licenses in bounded
memory.`,
		Example: `  licensectl licenses list --validity valid --usage unused
  licensectl licenses list --company "Acme Dental" --sort product,-expires_at
  licensectl licenses list --search P-7K3D --limit 20
  licensectl licenses list --group
  licensectl licenses list -o csv > licenses.csv`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			sort, err := licensing.ParseSort(o.sort)
			if err != nil {
				return err
			}
			o.filter.Sort = sort
			if err := o.filter.Validate(); err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			ctx := c.Context()
			if o.filter.Product != "" {
				p, err := svc.FindProduct(ctx, o.filter.Product)
				if err != nil {
					return err
				}
				o.filter.Product = p.SKU
			}
			if o.group {
				groups, err := svc.GroupLicenses(ctx, o.filter)
				if err != nil {
					return err
				}
				empty, err := f.noLicensesNote(c, svc, o.filter, len(groups), format)
				if err != nil {
					return err
				}
				return writeSlice(f, format, groupColumns(), groups, empty)
			}
			l := newList(f, format, licenseColumns(), "")
			if err := l.Begin(f.IO.Out); err != nil {
				return err
			}
			if err := svc.ListLicenses(ctx, o.filter, l.Add); err != nil {
				return err
			}
			empty, err := f.noLicensesNote(c, svc, o.filter, l.Count(), format)
			if err != nil {
				return err
			}
			l.Empty = empty
			return l.End()
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.filter.Company, "company", "", "only licenses matched to this company")
	fl.BoolVar(&o.filter.Pool, "pool", false, "only licenses in the global pool")
	fl.StringVar(&o.filter.Kind, "kind", "", "commercial, trial or all (any case)")
	fl.StringVar(&o.filter.Validity, "validity", "", "valid, expired or all")
	fl.StringVar(&o.filter.Usage, "usage", "", "used, unused or all")
	fl.StringVar(&o.filter.Status, "status", "", "activated, not_activated or all")
	fl.StringVar(&o.filter.Maintenance, "maintenance", "", "active, expired, none or all")
	fl.BoolVar(&o.filter.AutoRenew, "auto-renew", false, "only licenses with auto-renew on")
	fl.StringVar(&o.filter.Product, "product", "", "only this license type (SKU)")
	fl.StringVar(&o.filter.Search, "search", "", "free text over key, product, company and purchase id")
	fl.StringVar(&o.sort, "sort", "", "sort by "+strings.Join(licensing.LicenseSortFields(), ", ")+"; -field for descending (any case)")
	fl.IntVar(&o.filter.Limit, "limit", 0, "at most this many licenses (0: all)")
	fl.IntVar(&o.filter.Offset, "offset", 0, "skip this many licenses")
	fl.BoolVar(&o.group, "group", false, "one row per license type with counts")
	return c
}

// noLicensesNote says why a license list found nothing, for the table's
// empty note: a type the account never bought (the portal's "You have not
// purchased licenses of this type", which machine formats print on stderr
// too, while stdout stays []), filters that match nothing, or no licenses at
// all.
func (f *Factory) noLicensesNote(c *cobra.Command, svc licensing.Services, filter licensing.LicenseFilter, found int, format output.Format) (string, error) {
	if found > 0 {
		return "", nil
	}
	if filter.Product != "" {
		groups, err := svc.GroupLicenses(c.Context(), licensing.LicenseFilter{Product: filter.Product})
		if err != nil {
			return "", err
		}
		if len(groups) == 0 {
			note := fmt.Sprintf("You have not purchased licenses of this type (%s)", filter.Product)
			if !format.IsTable() {
				f.info("%s\n", note)
			}
			return note, nil
		}
	}
	if filtered(c, "sort", "limit", "group") {
		return "No licenses match these filters", nil
	}
	return "No licenses yet — buy some with `licensectl licenses buy --product SKU`", nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func date(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(dateLayout)
}

func licenseColumns() []output.Column[*licensing.License] {
	type L = *licensing.License
	return []output.Column[L]{
		{Header: "KEY", Keep: true, Value: func(l L) string { return l.Key }},
		{Header: "PRODUCT", Priority: 9, Whole: true, Value: func(l L) string { return l.Product }},
		{Header: "KIND", Enum: true, Priority: 4, Value: func(l L) string { return l.Kind }},
		{Header: "TERM", Wide: true, Enum: true, Value: func(l L) string { return l.Term }},
		{Header: "STATUS", Enum: true, Keep: true, Value: func(l L) string { return l.Status }},
		{Header: "VALIDITY", Enum: true, Priority: 7, Value: func(l L) string { return l.Validity }},
		{Header: "USAGE", Wide: true, Enum: true, Value: func(l L) string { return l.Usage }},
		{Header: "MAINTENANCE", Wide: true, Enum: true, Value: func(l L) string { return l.Maintenance }},
		{Header: "MAINTENANCE TILL", Priority: 3, Whole: true, Value: func(l L) string { return date(l.MaintenanceTill) }, CSV: func(l L) string { return rfc3339(l.MaintenanceTill) }},
		{Header: "ALLOW RM", Enum: true, Priority: 1, Value: func(l L) string { return strconv.FormatBool(l.AllowRM) }},
		{Header: "AUTO-RENEW", Enum: true, Priority: 2, Value: func(l L) string { return strconv.FormatBool(l.AutoRenew) }},
		{Header: "COMPANY", Priority: 6, Value: func(l L) string { return companyName(l.Company) }, CSV: func(l L) string { return deref(l.Company) }},
		{Header: "EXPIRES", Field: "expires_at", Priority: 8, Whole: true, Value: func(l L) string { return date(l.ExpiresAt) }, CSV: func(l L) string { return rfc3339(l.ExpiresAt) }},
		{Header: "SEATS", Wide: true, Value: func(l L) string { return fmt.Sprintf("%d/%d", l.SeatsUsed, l.Seats) }, CSV: func(l L) string { return strconv.Itoa(l.Seats) }},
		{Header: "SEATS USED", CSVOnly: true, CSV: func(l L) string { return strconv.Itoa(l.SeatsUsed) }},
		{Header: "PURCHASE", Field: "purchase_id", Wide: true, Value: func(l L) string { return l.PurchaseID }},
		{Header: "CREATED", Field: "created_at", Wide: true, Value: func(l L) string { return l.CreatedAt.Format(dateLayout) }, CSV: func(l L) string { return l.CreatedAt.Format(time.RFC3339) }},
	}
}

func rfc3339(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func companyName(c *string) string {
	if c == nil {
		return "(pool)"
	}
	return *c
}

func groupColumns() []output.Column[licensing.LicenseGroup] {
	type G = licensing.LicenseGroup
	n := strconv.Itoa
	return []output.Column[G]{
		{Header: "PRODUCT", Keep: true, Value: func(g G) string { return g.Product }},
		{Header: "NAME", Priority: 1, Value: func(g G) string { return g.ProductName }},
		{Header: "TOTAL", Priority: 9, Value: func(g G) string { return n(g.Total) }},
		{Header: "VALID", Priority: 8, Value: func(g G) string { return n(g.Valid) }},
		{Header: "EXPIRED", Priority: 7, Value: func(g G) string { return n(g.Expired) }},
		{Header: "USED", Priority: 6, Value: func(g G) string { return n(g.Used) }},
		{Header: "UNUSED", Priority: 5, Value: func(g G) string { return n(g.Unused) }},
		{Header: "TRIAL", Priority: 4, Value: func(g G) string { return n(g.Trial) }},
	}
}

func newLicensesShowCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show KEY",
		Short: "Show a license: purchase, dates, maintenance, machines, RM, download",
		Long: `Show one license: its product, purchase, dates, seats, maintenance and RM,
the machines it is activated on (name, OS, version, online or offline; in
JSON the "machines" array) and its maintenance plan history.`,
		Example: "  licensectl licenses show 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4",
		Args:    exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := parseKey(args[0])
			if err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			d, err := svc.GetLicense(c.Context(), key)
			if err != nil {
				return err
			}
			view, err := showLicense(c, svc, d)
			if err != nil {
				return err
			}
			return output.Object(f.IO.Out, format, view, func(w io.Writer) error {
				rm := yesNo(d.AllowRM)
				if !d.RMSupported {
					rm += " (needs version 5.2 or newer)"
				}
				if err := output.KeyValues(w, [][2]string{
					{"Key", d.Key},
					{"Product", fmt.Sprintf("%s (%s)", d.ProductName, d.Product)},
					{"Kind", d.Kind},
					{"Term", d.Term},
					{"Status", d.Status},
					{"Validity", d.Validity},
					{"Usage", d.Usage},
					{"Seats", fmt.Sprintf("%d of %d used", d.SeatsUsed, d.Seats)},
					{"Company", companyName(d.Company)},
					{"Purchase", d.PurchaseID},
					{"Purchase email", d.PurchaseEmail},
					{"Purchased", d.PurchasedAt.Format(time.RFC3339)},
					{"Expires", dateOrNever(d.ExpiresAt)},
					{"Maintenance", d.Maintenance},
					{"Maintenance till", date(d.MaintenanceTill)},
					{"Allow RM", rm},
					{"Auto-renew", yesNo(d.AutoRenew)},
					{"Activations", strconv.Itoa(d.Activations)},
					{"Platforms", strings.Join(d.Platforms, ", ")},
					{"Latest version", d.LatestVersion},
				}); err != nil {
					return err
				}
				if err := writeMachines(w, view.Machines); err != nil {
					return err
				}
				return writePlanHistory(w, d.MaintenancePlans)
			})
		},
	}
}

// licenseShow is what `licenses show` prints: the license and the machines
// it is activated on.
type licenseShow struct {
	licensing.LicenseDetail
	Machines []machineView `json:"machines"`
}

// machineView is one machine a license is activated on.
type machineView struct {
	ActivationID int64     `json:"activation_id"`
	Name         string    `json:"name"`
	Fingerprint  string    `json:"fingerprint"`
	OS           string    `json:"os"`
	Version      string    `json:"version"`
	Mode         string    `json:"mode"`
	RM           string    `json:"rm"`
	ActivatedAt  time.Time `json:"activated_at"`
	LastSeenAt   time.Time `json:"last_seen_at"`
}

func showLicense(c *cobra.Command, svc licensing.Services, d *licensing.LicenseDetail) (*licenseShow, error) {
	view := &licenseShow{LicenseDetail: *d, Machines: []machineView{}}
	list, err := svc.ListActivations(c.Context(), licensing.ActivationFilter{LicenseKey: d.Key})
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		view.Machines = append(view.Machines, machineView{ActivationID: a.ID, Name: a.Machine, Fingerprint: a.Fingerprint,
			OS: a.OS, Version: a.Version, Mode: a.Mode, RM: a.RM, ActivatedAt: a.ActivatedAt, LastSeenAt: a.LastSeenAt})
	}
	return view, nil
}

func writeMachines(w io.Writer, machines []machineView) error {
	if len(machines) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nMachines:")
	rows := make([][]string, 0, len(machines))
	for _, m := range machines {
		rows = append(rows, []string{m.Name, m.OS, m.Version, m.Mode, m.RM, m.ActivatedAt.Format(dateLayout), strconv.FormatInt(m.ActivationID, 10)})
	}
	return output.WriteTable(w, []string{"MACHINE", "OS", "VERSION", "MODE", "RM", "SINCE", "ACTIVATION"}, rows, false)
}

func dateOrNever(t *time.Time) string {
	if t == nil {
		return "never (lifetime license)"
	}
	return t.Format(time.RFC3339)
}

func newLicensesSetCmd(f *Factory) *cobra.Command {
	var allowRM, autoRenew bool
	var company string
	var pool, suspended bool
	c := &cobra.Command{
		Use:   "set KEY",
		Short: "Switch Allow RM or auto-renew, or move a license to a company or the pool",
		Example: `  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --allow-rm=true
  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --company "Acme Dental"
  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --pool --auto-renew=false`,
		Args: exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := parseKey(args[0])
			if err != nil {
				return err
			}
			var u licensing.LicenseUpdate
			fl := c.Flags()
			if changed(fl, "allow-rm") {
				u.AllowRM = &allowRM
			}
			if changed(fl, "auto-renew") {
				u.AutoRenew = &autoRenew
			}
			if changed(fl, "suspended") {
				u.Suspended = &suspended
			}
			switch {
			case pool && changed(fl, "company"):
				return licensing.Errorf(licensing.EINVALID, "--company and --pool cannot be combined")
			case pool:
				empty := ""
				u.Company = &empty
			case changed(fl, "company"):
				name, err := licensing.NormalizeCompanyName(company)
				if err != nil {
					return err
				}
				u.Company = &name
			}
			if u == (licensing.LicenseUpdate{}) {
				return licensing.Errorf(licensing.EINVALID, "nothing to change").
					WithHint("pass --allow-rm, --auto-renew, --suspended, --company or --pool")
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			l, err := svc.UpdateLicense(c.Context(), key, u)
			if err != nil {
				return err
			}
			if u.AllowRM != nil && *u.AllowRM {
				if err := f.warnRMUnsupported(c, svc, l.Key); err != nil {
					return err
				}
			}
			if f.cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, l, func(w io.Writer) error {
				summary := fmt.Sprintf("Updated %s: allow RM %s, auto-renew %s", l.Key, yesNo(l.AllowRM), yesNo(l.AutoRenew))
				if u.Suspended != nil { // the license does not say; what was just set does
					summary += ", suspended " + yesNo(*u.Suspended)
				}
				_, err := fmt.Fprintf(w, "%s, company %s\n", summary, companyName(l.Company))
				return err
			})
		},
	}
	fl := c.Flags()
	fl.BoolVar(&allowRM, "allow-rm", false, "allow remote management (version 5.2 and newer)")
	fl.BoolVar(&autoRenew, "auto-renew", false, "renew the subscription automatically")
	fl.StringVar(&company, "company", "", "match the license to this company")
	fl.BoolVar(&pool, "pool", false, "move the license to the global pool")
	fl.BoolVar(&suspended, "suspended", false, "suspend the license: it refuses activation and fails validation")
	return c
}

// warnRMUnsupported warns, on stderr, when Allow RM was switched on for a
// license some of whose machines run a version before 5.2: RM stays
// unavailable on them until they are upgraded.
func (f *Factory) warnRMUnsupported(c *cobra.Command, svc licensing.Services, key string) error {
	list, err := svc.ListActivations(c.Context(), licensing.ActivationFilter{LicenseKey: key})
	if err != nil {
		return err
	}
	var old []string
	for _, a := range list {
		if !licensing.SupportsRM(a.Version) {
			old = append(old, fmt.Sprintf("%s (%s)", a.Machine, a.Version))
		}
	}
	if len(old) > 0 {
		fmt.Fprintf(f.IO.ErrOut, "warning: remote management needs version 5.2 or newer; it stays unavailable on %s until upgraded\n",
			strings.Join(old, ", "))
	}
	return nil
}

type buyOptions struct {
	line    licensing.BuyLine
	req     licensing.BuyRequest
	csvFile string
	file    *purchasecsv.File
	dryRun  bool
}

func newLicensesBuyCmd(f *Factory) *cobra.Command {
	var o buyOptions
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
			if o.csvFile != "" {
				for _, name := range []string{"product", "quantity", "company", "billing", "premium-support", "onboarding"} {
					if changed(fl, name) {
						return licensing.Errorf(licensing.EINVALID, "--%s cannot be combined with --from-csv: put it in the file", name)
					}
				}
				file, err := readPurchaseCSV(o.csvFile)
				if err != nil {
					return err
				}
				o.file = file
				o.req.Lines = file.Lines()
			} else {
				if o.line.Product == "" {
					return licensing.Errorf(licensing.EINVALID, "--product is required").
						WithHint("see `licensectl products list` for SKUs, or use --from-csv FILE")
				}
				o.req.Lines = []licensing.BuyLine{o.line}
			}
			if o.file == nil { // a file's rows are checked whole, below
				if err := o.req.Normalize(); err != nil {
					return err
				}
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			ctx := c.Context()
			if o.file != nil {
				if err := checkPurchaseFile(ctx, svc, o.file, o.req); err != nil {
					return err
				}
			}
			var p *licensing.Purchase
			if o.dryRun {
				p, err = svc.Quote(ctx, o.req)
			} else {
				bar := f.progress("Buying licenses", totalQuantity(o.req.Lines), format)
				p, err = svc.Buy(ctx, o.req, bar.set)
				bar.done()
			}
			if err != nil {
				return err
			}
			if f.cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, p, func(w io.Writer) error {
				if err := writePurchase(w, p); err != nil {
					return err
				}
				return writeMaintenanceOffer(ctx, w, svc, p)
			})
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.line.Product, "product", "", "license type to buy (`SKU`; see licensectl products list)")
	fl.IntVar(&o.line.Quantity, "quantity", 1, fmt.Sprintf("how many licenses (1..%d)", licensing.MaxQuantity))
	fl.StringVar(&o.line.Company, "company", "", "match the licenses to this company (default: the global pool)")
	fl.StringVar(&o.line.Billing, "billing", "", "payment mode for subscriptions: monthly or annual (first purchase only)")
	fl.BoolVar(&o.line.PremiumSupport, "premium-support", false, "add Premium Support")
	fl.BoolVar(&o.line.Onboarding, "onboarding", false, "add Onboarding")
	fl.BoolVar(&o.req.Trial, "trial", false, fmt.Sprintf("request free trial licenses (%d days, once per type)", licensing.TrialDays))
	fl.StringVar(&o.req.IdempotencyKey, "idempotency-key", "", "a retry with the same key returns the original purchase")
	fl.StringVar(&o.req.PurchaseEmail, "purchase-email", "", "buy under another email (its account, or the one created for it later, gets the licenses)")
	fl.StringVar(&o.csvFile, "from-csv", "", "buy the lines of this CSV file in one purchase")
	fl.BoolVar(&o.dryRun, "dry-run", false, "print line items and total, buy nothing")
	return c
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
