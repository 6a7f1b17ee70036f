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

func newLicensesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "licenses", Aliases: []string{"license", "lic"}, Short: "Buy, list, show and change licenses"}
	cmd.AddCommand(newLicensesListCmd(f, nil), newLicensesShowCmd(f, nil), newLicensesBuyCmd(f, nil), newLicensesSetCmd(f, nil),
		newLicensesCancelCmd(f, nil),
		newLicensesAttachCmd(f, nil), newLicensesValidateCmd(f, nil), newLicensesDownloadCmd(f, nil),
		newLicensesFindCmd(f, nil))
	return cmd
}

type licensesListOptions struct {
	env
	Filter licensing.LicenseFilter
	Sort   string
	Group  bool
	// Expand lists each type's licenses under its group row; AllTypes adds
	// the catalog's other license types, with why they have none.
	Expand   bool
	AllTypes bool
	// Filtered: a filter other than --sort, --limit and --group was given,
	// for the note when nothing is found.
	Filtered bool
}

func newLicensesListCmd(f *Factory, runF func(*licensesListOptions) error) *cobra.Command {
	o := &licensesListOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "list",
		Short: "List, search, filter, sort and group the acting account's licenses",
		Long: `List the acting account's licenses. Filters combine; --search matches key,
product, company and purchase id. --sort takes attributes separated by commas,
a leading "-" sorts descending. --group shows one row per license type with
counts; --expand follows each type's row with its licenses, indented (the
same filters; --limit and --offset count per type; -o json gives an array of
groups, each with its "licenses"). At a terminal --group expands by itself
when only one type matches. --all-types adds the catalog's other license
types: "You have not purchased licenses of this type".

Output streams: -o json and -o csv print any number of licenses in bounded
memory.`,
		Example: `  licensectl licenses list --validity valid --usage unused
  licensectl licenses list --company "Acme Dental" --sort product,-expires_at
  licensectl licenses list --search P-7K3D --limit 20
  licensectl licenses list --group
  licensectl licenses list --group --expand --validity valid
  licensectl licenses list --group --expand --all-types -o json
  licensectl licenses list -o csv > licenses.csv`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			sort, err := licensing.ParseSort(o.Sort)
			if err != nil {
				return err
			}
			o.Filter.Sort = sort
			if err := o.Filter.Validate(); err != nil {
				return err
			}
			if (o.Expand || o.AllTypes) && !o.Group {
				return licensing.Errorf(licensing.EINVALID, "--expand and --all-types go with --group")
			}
			o.Filtered = filtered(c, "sort", "limit", "group", "expand", "all-types")
			if runF != nil {
				return runF(o)
			}
			return licensesListRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Filter.Company, "company", "", "only licenses matched to this company")
	fl.BoolVar(&o.Filter.Pool, "pool", false, "only licenses in the global pool")
	fl.StringVar(&o.Filter.Kind, "kind", "", "commercial, trial or all (any case)")
	fl.StringVar(&o.Filter.Validity, "validity", "", "valid, expired or all")
	fl.StringVar(&o.Filter.Usage, "usage", "", "used, unused or all")
	fl.StringVar(&o.Filter.Status, "status", "", "activated, not_activated or all")
	fl.StringVar(&o.Filter.Maintenance, "maintenance", "", "active, expired, none or all")
	fl.BoolVar(&o.Filter.AutoRenew, "auto-renew", false, "only licenses with auto-renew on")
	fl.BoolVar(&o.Filter.IncludeRevoked, "include-revoked", false, "list refunded (revoked) licenses too")
	fl.StringVar(&o.Filter.Product, "product", "", "only this license type (SKU)")
	fl.StringVar(&o.Filter.Search, "search", "", "free text over key, product, company and purchase id")
	fl.StringVar(&o.Sort, "sort", "", "sort by "+strings.Join(licensing.LicenseSortFields(), ", ")+"; -field for descending (any case)")
	fl.IntVar(&o.Filter.Limit, "limit", 0, "at most this many licenses (0: all)")
	fl.IntVar(&o.Filter.Offset, "offset", 0, "skip this many licenses")
	fl.BoolVar(&o.Group, "group", false, "one row per license type with counts")
	fl.BoolVar(&o.Expand, "expand", false, "with --group: each type's row followed by its licenses")
	fl.BoolVar(&o.AllTypes, "all-types", false, "with --group: list license types never bought too")
	return c
}

func licensesListRun(ctx context.Context, o *licensesListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	filter := o.Filter
	if filter.Product != "" {
		p, err := svc.FindProduct(ctx, filter.Product)
		if err != nil {
			return err
		}
		filter.Product = p.SKU
	}
	if o.Group {
		groups, err := svc.GroupLicenses(ctx, filter)
		if err != nil {
			return err
		}
		empty, err := o.noLicensesNote(ctx, svc, filter, len(groups), format)
		if err != nil {
			return err
		}
		oneType := len(groups) == 1 && o.IO.StdoutTTY && format.IsTable()
		if o.Expand || o.AllTypes || oneType {
			expanded, err := o.expandGroups(ctx, svc, filter, groups)
			if err != nil {
				return err
			}
			if !o.Expand && !oneType { // --all-types alone: group rows only
				for i := range expanded {
					expanded[i].Licenses = nil
				}
				return o.writeAllTypes(format, expanded, empty)
			}
			return o.writeExpanded(format, expanded, empty)
		}
		return writeSlice(o.env, format, groupColumns(), groups, empty)
	}
	l := newList(o.env, format, licenseColumns(), "")
	if err := l.Begin(o.IO.Out); err != nil {
		return err
	}
	if err := svc.ListLicenses(ctx, filter, l.Add); err != nil {
		return err
	}
	empty, err := o.noLicensesNote(ctx, svc, filter, l.Count(), format)
	if err != nil {
		return err
	}
	l.Empty = empty
	return l.End()
}

// noLicensesNote says why a license list found nothing, for the table's
// empty note: a type the account never bought (the portal's "You have not
// purchased licenses of this type", which machine formats print on stderr
// too, while stdout stays []), filters that match nothing, or no licenses at
// all.
func (o *licensesListOptions) noLicensesNote(ctx context.Context, svc licensing.Services, filter licensing.LicenseFilter, found int, format output.Format) (string, error) {
	if found > 0 {
		return "", nil
	}
	if filter.Product != "" {
		groups, err := svc.GroupLicenses(ctx, licensing.LicenseFilter{Product: filter.Product})
		if err != nil {
			return "", err
		}
		if len(groups) == 0 {
			note := fmt.Sprintf("You have not purchased licenses of this type (%s)", filter.Product)
			if !format.IsTable() {
				o.info("%s\n", note)
			}
			return note, nil
		}
	}
	if o.Filtered {
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

type licensesShowOptions struct {
	env
	Key string
}

func newLicensesShowCmd(f *Factory, runF func(*licensesShowOptions) error) *cobra.Command {
	o := &licensesShowOptions{env: f.env()}
	return &cobra.Command{
		Use:   "show KEY",
		Short: "Show a license: purchase, dates, maintenance, machines, RM, download",
		Long: `Show one license: its product, purchase, dates, seats, maintenance and RM,
the machines it is activated on (name, OS, version, online or offline; in
JSON the "machines" array) and its maintenance plan history.`,
		Example: "  licensectl licenses show 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4",
		Args:    exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := licensing.ParseKey(args[0])
			if err != nil {
				return err
			}
			o.Key = key
			if runF != nil {
				return runF(o)
			}
			return licensesShowRun(c.Context(), o)
		},
	}
}

func licensesShowRun(ctx context.Context, o *licensesShowOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	d, err := svc.GetLicense(ctx, o.Key)
	if err != nil {
		return err
	}
	view, err := showLicense(ctx, svc, d)
	if err != nil {
		return err
	}
	return output.Object(o.IO.Out, format, view, func(w io.Writer) error {
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

func showLicense(ctx context.Context, svc licensing.Services, d *licensing.LicenseDetail) (*licenseShow, error) {
	view := &licenseShow{LicenseDetail: *d, Machines: []machineView{}}
	list, err := svc.ListActivations(ctx, licensing.ActivationFilter{LicenseKey: d.Key})
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

type licensesSetOptions struct {
	env
	Key    string
	Update licensing.LicenseUpdate
}

func newLicensesSetCmd(f *Factory, runF func(*licensesSetOptions) error) *cobra.Command {
	o := &licensesSetOptions{env: f.env()}
	var allowRM, autoRenew bool
	var company string
	var pool, suspended bool
	c := &cobra.Command{
		Use:   "set KEY",
		Short: "Switch Allow RM or auto-renew, move a license to a company or the pool, suspend it",
		Long: `Change one of the acting account's licenses: Allow RM, auto-renew, its
company or the global pool.

--suspended=true suspends a license (it refuses activation and fails
validation with SUSPENDED); --suspended=false reinstates it. Suspension is
the vendor's: on the server host, or over the API with an operator token
that has the licenses:suspend scope; an account's token cannot (exit 4).
There, --suspended alone needs no --account: the license's account is found
from its key.`,
		Example: `  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --allow-rm=true
  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --company "Acme Dental"
  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --pool --auto-renew=false
  licensectl licenses set 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --suspended=true`,
		Args: exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := licensing.ParseKey(args[0])
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
			o.Key, o.Update = key, u
			if runF != nil {
				return runF(o)
			}
			return licensesSetRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&allowRM, "allow-rm", false, "allow remote management (version 5.2 and newer)")
	fl.BoolVar(&autoRenew, "auto-renew", false, "renew the subscription automatically")
	fl.StringVar(&company, "company", "", "match the license to this company")
	fl.BoolVar(&pool, "pool", false, "move the license to the global pool")
	fl.BoolVar(&suspended, "suspended", false, "suspend the license: it refuses activation and fails validation (operators)")
	return c
}

func licensesSetRun(ctx context.Context, o *licensesSetOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	u := o.Update
	l, err := svc.UpdateLicense(ctx, o.Key, u)
	if err != nil {
		return err
	}
	if u.AllowRM != nil && *u.AllowRM {
		if err := o.warnRMUnsupported(ctx, svc, l.Key); err != nil {
			return err
		}
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, l, func(w io.Writer) error {
		summary := fmt.Sprintf("Updated %s: allow RM %s, auto-renew %s", l.Key, yesNo(l.AllowRM), yesNo(l.AutoRenew))
		if u.Suspended != nil { // the license does not say; what was just set does
			summary += ", suspended " + yesNo(*u.Suspended)
		}
		_, err := fmt.Fprintf(w, "%s, company %s\n", summary, companyName(l.Company))
		return err
	})
}

// warnRMUnsupported warns, on stderr, when Allow RM was switched on for a
// license some of whose machines run a version before 5.2: RM stays
// unavailable on them until they are upgraded.
func (e env) warnRMUnsupported(ctx context.Context, svc licensing.Services, key string) error {
	list, err := svc.ListActivations(ctx, licensing.ActivationFilter{LicenseKey: key})
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
		fmt.Fprintf(e.IO.ErrOut, "warning: remote management needs version 5.2 or newer; it stays unavailable on %s until upgraded\n",
			strings.Join(old, ", "))
	}
	return nil
}
