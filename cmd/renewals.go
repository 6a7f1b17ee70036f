package cmd

import (
	"bufio"
	"context"
	"errors"
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
	cmd.AddCommand(newRenewalsRunCmd(f, nil), newRenewalsListCmd(f, nil))
	return cmd
}

type renewalsRunOptions struct {
	env
	// At is --as-of, or the clock's time.
	At     time.Time
	DryRun bool
}

func newRenewalsRunCmd(f *Factory, runF func(*renewalsRunOptions) error) *cobra.Command {
	o := &renewalsRunOptions{env: f.env()}
	var asOf string
	c := &cobra.Command{
		Use:   "run [--as-of DATE] [--dry-run]",
		Short: "Renew and expire everything due as of now (or an earlier DATE)",
		Long: `Renew and expire everything due as of now, or as of an earlier --as-of
(catching up on a day the engine did not run). A run never goes past now: it
would charge periods that have not begun and end what has not ended.

--dry-run previews a run, as of now or any --as-of, future dates included:
what would renew or end, per account, with totals. Nothing changes, and the
run made later as of that date does exactly what it showed.

A run that renews a plan or subscription for more than one period at once
(a backlog) asks first at a terminal, showing the total; --yes skips the
question and is required when stdin or stderr is not a terminal.`,
		Example: `  licensectl renewals run
  licensectl renewals run --dry-run --as-of 2031-01-01
  licensectl renewals run --as-of 2026-11-30 --yes`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			at, err := o.asOf(asOf)
			if err != nil {
				return err
			}
			if !o.DryRun {
				if err := licensing.CheckRunAsOf(at, o.now()); err != nil {
					return err
				}
			}
			o.At = at
			if runF != nil {
				return runF(o)
			}
			return runRenewals(c.Context(), o)
		},
	}
	c.Flags().StringVar(&asOf, "as-of", "", "process what is due at this time, not later than now (RFC 3339 or YYYY-MM-DD; default now)")
	c.Flags().BoolVar(&o.DryRun, "dry-run", false, "show what would renew or end, per account, with totals; change nothing (any --as-of)")
	return c
}

func runRenewals(ctx context.Context, o *renewalsRunOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	var run *licensing.RenewalRun
	if o.DryRun || !o.Config().Yes {
		due, err := svc.DueRenewals(ctx, o.At)
		if err != nil {
			return err
		}
		preview := licensing.SummarizeRenewals(o.At, due)
		preview.DryRun = true
		if o.DryRun {
			run = preview
		} else if err := o.confirmRenewals(preview); err != nil {
			return err
		}
	}
	if run == nil {
		if run, err = svc.RunRenewals(ctx, o.At); err != nil {
			return err
		}
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, run, func(w io.Writer) error {
		return writeRenewalRun(w, format, run)
	})
}

// confirmRenewals asks before a run that renews anything for more than one
// period at once, showing what it would charge; other runs go ahead.
// Without a terminal to ask at, --yes must say it up front.
func (e env) confirmRenewals(preview *licensing.RenewalRun) error {
	most := licensing.MostPeriods(preview.Renewals)
	if most <= 1 {
		return nil
	}
	what := fmt.Sprintf("%d renewal(s) for $%s, up to %d periods of one plan or subscription at once", preview.Renewed,
		licensing.FormatCents(preview.TotalCents), most)
	if !e.IO.StdinTTY || !e.IO.StderrTTY {
		return licensing.Errorf(licensing.EINVALID, "this run would charge %s: confirm with --yes (no terminal to ask at)", what).
			WithHint("nothing was done; preview it with `licensectl renewals run --dry-run`, then pass --yes")
	}
	if err := writeRenewalTotals(e.IO.ErrOut, preview); err != nil {
		return err
	}
	fmt.Fprintf(e.IO.ErrOut, "\nCharge %s? [y/N] ", what)
	answer, _ := bufio.NewReader(e.IO.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("nothing was done") // declined: exit 1
}

// writeRenewalRun prints a run or its preview: the summary line, the totals
// per account and every renewal and end.
func writeRenewalRun(w io.Writer, format output.Format, run *licensing.RenewalRun) error {
	if run.DryRun {
		fmt.Fprintf(w, "Renewals as of %s (dry run: nothing was changed): %d would renew for $%s, %d would end\n",
			run.AsOf.Format(time.RFC3339), run.Renewed, licensing.FormatCents(run.TotalCents), run.Expired)
	} else {
		fmt.Fprintf(w, "Renewals as of %s: %d renewed for $%s, %d ended\n", run.AsOf.Format(time.RFC3339),
			run.Renewed, licensing.FormatCents(run.TotalCents), run.Expired)
	}
	if len(run.Purchases) > 0 {
		fmt.Fprintf(w, "Renewal purchase(s): %s\n", strings.Join(run.Purchases, ", "))
	}
	if len(run.Renewals) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	if err := writeRenewalTotals(w, run); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return writeRenewalTable(w, format, run.Renewals)
}

// writeRenewalTotals prints a run's totals per account.
func writeRenewalTotals(w io.Writer, run *licensing.RenewalRun) error {
	rows := make([][]string, 0, len(run.Accounts))
	for _, t := range run.Accounts {
		rows = append(rows, []string{t.Account, strconv.Itoa(t.Renewed), strconv.Itoa(t.Expired), money(t.TotalCents) + " " + t.Currency})
	}
	return output.WriteTable(w, []string{"ACCOUNT", "RENEWALS", "ENDS", "TOTAL"}, rows, false)
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

type renewalsListOptions struct {
	env
	// At is --as-of, or the clock's time; Ahead is --due-within.
	At    time.Time
	Ahead lookAhead
}

func newRenewalsListCmd(f *Factory, runF func(*renewalsListOptions) error) *cobra.Command {
	o := &renewalsListOptions{env: f.env()}
	var asOf, within string
	c := &cobra.Command{
		Use:   "list [--due-within DURATION] [--as-of DATE]",
		Short: "Preview what renews or ends within a period, and what it will cost",
		Example: `  licensectl renewals list
  licensectl renewals list --due-within 90d -o csv`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			at, err := o.asOf(asOf)
			if err != nil {
				return err
			}
			ahead, err := parsePeriod("--due-within", within)
			if err != nil {
				return err
			}
			o.At, o.Ahead = at, ahead
			if runF != nil {
				return runF(o)
			}
			return renewalsListRun(c.Context(), o)
		},
	}
	c.Flags().StringVar(&within, "due-within", "30d", "how far ahead to look: 1y, 6mo, 2w, 30d, 36h (combined as in 1y6mo)")
	c.Flags().StringVar(&asOf, "as-of", "", "look ahead from this time (RFC 3339 or YYYY-MM-DD; default now)")
	return c
}

func renewalsListRun(ctx context.Context, o *renewalsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	until := o.Ahead.from(o.At)
	rs, err := svc.DueRenewals(ctx, until)
	if err != nil {
		return err
	}
	l := newList(o.env, format, renewalColumns(), fmt.Sprintf("Nothing renews or ends by %s", until.Format(time.RFC3339)))
	var total int64
	renew := 0
	for _, r := range rs {
		if r.Action == licensing.RenewalRenew {
			total += r.PriceCents
			renew++
		}
	}
	l.Footer = fmt.Sprintf("%d renewal(s) for $%s, %d end(s) by %s", renew, licensing.FormatCents(total),
		len(rs)-renew, until.Format(time.RFC3339))
	return writeList(l, o.env, rs)
}

// lookAhead is a period (--due-within, a token's --expires): calendar
// years, months, weeks and days (1y, 6mo, 2w, 30d, which
// time.ParseDuration lacks), then any Go duration (36h, 90m), in that order
// and combined as in 1y6mo or 1d12h.
type lookAhead struct {
	years, months, days int
	d                   time.Duration
}

// from is the end of the period that starts at t.
func (l lookAhead) from(t time.Time) time.Time {
	return t.AddDate(l.years, l.months, l.days).Add(l.d)
}

// parsePeriod reads the period of flag (see lookAhead), at most 100 years
// long.
func parsePeriod(flag, s string) (lookAhead, error) {
	s = strings.TrimSpace(s)
	bad := licensing.Errorf(licensing.EINVALID, "invalid %s %q: want e.g. 1y, 6mo, 2w, 30d or 36h", flag, licensing.ClipArg(s))
	var l lookAhead
	rest := s
	for rest != "" {
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		if digits == 0 || digits > 6 {
			break
		}
		n, _ := strconv.Atoi(rest[:digits])
		unit := strings.ToLower(rest[digits:])
		var size int
		switch {
		case strings.HasPrefix(unit, "mo"):
			l.months, size = l.months+n, 2
		case strings.HasPrefix(unit, "y"):
			l.years, size = l.years+n, 1
		case strings.HasPrefix(unit, "w"):
			l.days, size = l.days+7*n, 1
		case strings.HasPrefix(unit, "d"):
			l.days, size = l.days+n, 1
		}
		if size == 0 {
			break // a Go duration unit: the rest is for time.ParseDuration
		}
		rest = rest[digits+size:]
	}
	if rest == s && s == "" {
		return lookAhead{}, bad
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return lookAhead{}, bad
		}
		l.d = d
	}
	if ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); l.from(ref).After(ref.AddDate(100, 0, 0)) {
		return lookAhead{}, bad
	}
	return l, nil
}
