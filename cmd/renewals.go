package cmd

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newRenewalsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "renewals",
		Short: "Run the renewals engine or preview what falls due",
		Long: `The renewals engine renews maintenance plans (one year) and subscription
licenses (one month or one year, per their payment mode) that have auto-renew
on, each with a renewal purchase at the current price, and records the end of
trials and of everything with auto-renew off. Running it again for the same
date changes nothing. Every renewal and every end is in the audit log.

With an acting account (--account, LICENSECTL_ACCOUNT) the engine works on
that account only; without one, on every account of the store.`,
	}
	cmd.AddCommand(newRenewalsRunCmd(f), newRenewalsListCmd(f))
	return cmd
}

// asOf reads --as-of, or the clock's time when it is not given.
func (f *Factory) asOf(s string) (time.Time, error) {
	if s == "" {
		clock := f.Clock
		if clock == nil {
			clock = licensing.SystemClock{}
		}
		return clock.Now().UTC().Truncate(time.Second), nil
	}
	return parseTime(s)
}

func newRenewalsRunCmd(f *Factory) *cobra.Command {
	var asOf string
	c := &cobra.Command{
		Use:   "run [--as-of DATE]",
		Short: "Renew and expire everything due as of now (or DATE)",
		Example: `  licensectl renewals run
  licensectl renewals run --as-of 2027-01-01`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			at, err := f.asOf(asOf)
			if err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			run, err := svc.RunRenewals(c.Context(), at)
			if err != nil {
				return err
			}
			if f.cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, run, func(w io.Writer) error {
				fmt.Fprintf(w, "Renewals as of %s: %d renewed for $%s, %d ended\n", run.AsOf.Format(time.RFC3339),
					run.Renewed, licensing.FormatCents(run.TotalCents), run.Expired)
				if len(run.Purchases) > 0 {
					fmt.Fprintf(w, "Renewal purchase(s): %s\n", strings.Join(run.Purchases, ", "))
				}
				if len(run.Renewals) == 0 {
					return nil
				}
				fmt.Fprintln(w)
				return writeRenewalTable(w, format, run.Renewals)
			})
		},
	}
	c.Flags().StringVar(&asOf, "as-of", "", "process what is due at this time (RFC 3339 or YYYY-MM-DD; default now)")
	return c
}

func writeRenewalTable(w io.Writer, format output.Format, rs []licensing.Renewal) error {
	l := &output.List[licensing.Renewal]{Format: format, Columns: renewalColumns()}
	if err := l.Begin(w); err != nil {
		return err
	}
	for _, r := range rs {
		if err := l.Add(r); err != nil {
			return err
		}
	}
	return l.End()
}

func renewalColumns() []output.Column[licensing.Renewal] {
	type R = licensing.Renewal
	return []output.Column[R]{
		{Header: "DUE", Field: "due_at", Priority: 8, Whole: true, Value: func(r R) string { return r.DueAt.Format(dateLayout) }, CSV: func(r R) string { return r.DueAt.Format(time.RFC3339) }},
		{Header: "ACTION", Enum: true, Keep: true, Value: func(r R) string { return r.Action }},
		{Header: "KIND", Enum: true, Priority: 5, Value: func(r R) string { return r.Kind }},
		{Header: "OBJECT", Keep: true, Value: func(r R) string { return r.Object }},
		{Header: "LICENSE", Field: "license_key", Wide: true, Value: func(r R) string { return r.LicenseKey }},
		{Header: "PRODUCT", Priority: 6, Whole: true, Value: func(r R) string { return r.Product }},
		{Header: "NEW END", Field: "new_end", Priority: 4, Whole: true, Value: func(r R) string { return date(r.NewEnd) }, CSV: func(r R) string { return rfc3339(r.NewEnd) }},
		{Header: "PRICE", Field: "price_cents", Priority: 7, Value: func(r R) string { return money(r.PriceCents) }, CSV: func(r R) string { return strconv.FormatInt(r.PriceCents, 10) }},
		{Header: "ACCOUNT", Wide: true, Value: func(r R) string { return r.Account }},
		{Header: "PURCHASE", Field: "purchase_id", Wide: true, Value: func(r R) string { return r.PurchaseID }},
	}
}

func newRenewalsListCmd(f *Factory) *cobra.Command {
	var asOf, within string
	c := &cobra.Command{
		Use:   "list [--due-within DURATION] [--as-of DATE]",
		Short: "Preview what renews or ends within a period, and what it will cost",
		Example: `  licensectl renewals list
  licensectl renewals list --due-within 90d -o csv`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			at, err := f.asOf(asOf)
			if err != nil {
				return err
			}
			d, err := parseDueWithin(within)
			if err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			rs, err := svc.DueRenewals(c.Context(), at.Add(d))
			if err != nil {
				return err
			}
			l := newList(f, format, renewalColumns(), fmt.Sprintf("Nothing renews or ends by %s", at.Add(d).Format(time.RFC3339)))
			var total int64
			renew := 0
			for _, r := range rs {
				if r.Action == licensing.RenewalRenew {
					total += r.PriceCents
					renew++
				}
			}
			l.Footer = fmt.Sprintf("%d renewal(s) for $%s, %d end(s) by %s", renew, licensing.FormatCents(total),
				len(rs)-renew, at.Add(d).Format(time.RFC3339))
			return writeList(l, f, rs)
		},
	}
	c.Flags().StringVar(&within, "due-within", "30d", "how far ahead to look: 30d, 2w, 36h")
	c.Flags().StringVar(&asOf, "as-of", "", "look ahead from this time (RFC 3339 or YYYY-MM-DD; default now)")
	return c
}

// parseDueWithin reads a look-ahead: days (30d) and weeks (2w), which
// time.ParseDuration lacks, or any Go duration.
func parseDueWithin(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := licensing.Errorf(licensing.EINVALID, "invalid --due-within %q: want e.g. 30d, 2w or 36h", clipArg(s))
	var d time.Duration
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); len(unit) == 1 && (unit == "d" || unit == "w") {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, bad
		}
		if unit == "w" {
			days *= 7
		}
		if days > 36600 {
			return 0, bad
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < 0 {
		return 0, bad
	}
	return d, nil
}
