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

// parseDurationFlag reads a flag's duration as parsePeriod does (10m, 36h,
// 7d, 2w), counted from now for the calendar units.
func parseDurationFlag(flag, s string, now time.Time) (time.Duration, error) {
	p, err := parsePeriod(flag, s)
	if err != nil {
		return 0, err
	}
	return p.from(now).Sub(now), nil
}

// leaseText is a lease's length as people write it: 10m, 1h, 1h30m.
func leaseText(seconds int64) string {
	s := (time.Duration(seconds) * time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// dateTime is a nullable time in a table: "-" when there is none.
func dateTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(dateTimeLayout)
}

// parseActivationID reads an activation id argument.
func parseActivationID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, licensing.Errorf(licensing.EINVALID, "activation id %q is not a positive number", licensing.ClipArg(s))
	}
	return id, nil
}

type heartbeatOptions struct {
	env
	ID int64
}

func newHeartbeatCmd(f *Factory, runF func(*heartbeatOptions) error) *cobra.Command {
	o := &heartbeatOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "heartbeat ID",
		Short: "Renew a leased activation's lease and record that its machine was seen",
		Long: `Renew a leased activation: its lease runs its full length again from now,
and the machine counts as seen. Prints the new expiry.

A lease that already ran out is lost - its seat may be another machine's -
and is refused (exit 5): activate again. An activation without a lease
holds its seat until deactivated and needs no heartbeat (exit 2).
` + "`licensectl activations run`" + ` sends heartbeats by itself.`,
		Example: `  licensectl activations heartbeat 12
  licensectl activations heartbeat 12 -o json`,
		Args: exactArgs(1, "an activation id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseActivationID(args[0])
			if err != nil {
				return err
			}
			o.ID = id
			if runF != nil {
				return runF(o)
			}
			return heartbeatRun(c.Context(), o)
		},
	}
	return c
}

func heartbeatRun(ctx context.Context, o *heartbeatOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, err := svc.Heartbeat(ctx, o.ID)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, a, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Lease of activation %d (%s on %s) renewed: expires at %s (lease %s)\n", a.ID, a.LicenseKey, a.Machine,
			rfc3339(a.LeaseExpiresAt), leaseText(a.LeaseSeconds))
		return err
	})
}

type activationsReleaseOptions struct {
	env
	Stale  time.Duration
	DryRun bool
	stale  string
}

func newActivationsReleaseCmd(f *Factory, runF func(*activationsReleaseOptions) error) *cobra.Command {
	o := &activationsReleaseOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "release --stale DURATION [--dry-run] [--yes]",
		Short: "Release, in bulk, the online activations not seen for longer than a duration",
		Long: `Release every online activation of the account that was not seen - no
heartbeat, validation or activation - for longer than --stale (at least 1m):
machines that went away without deactivating. Each release is audited.
Offline activations are left: their machines release them with a signed
proof.

It lists what it would release and asks first; --yes skips the question and
is required when stdin is not a terminal. --dry-run only lists them.
Prints the activations it released.`,
		Example: `  licensectl activations release --stale 30d --dry-run
  licensectl activations release --stale 7d
  licensectl activations release --stale 2h --yes -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireFlags(c, "stale"); err != nil {
				return err
			}
			stale, err := parseDurationFlag("--stale", o.stale, o.now())
			if err != nil {
				return err
			}
			if stale < time.Minute {
				return licensing.Errorf(licensing.EINVALID, "invalid --stale %q: at least 1m", licensing.ClipArg(o.stale)).
					WithHint("e.g. --stale 1h or --stale 7d")
			}
			o.Stale = stale
			if runF != nil {
				return runF(o)
			}
			return activationsReleaseRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.stale, "stale", "", "release activations not seen for longer than `DURATION`, e.g. 2h or 7d (required)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "list the activations that would be released, release nothing")
	return c
}

func activationsReleaseRun(ctx context.Context, o *activationsReleaseOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	none := fmt.Sprintf("No online activation was last seen more than %s ago: nothing to release", o.stale)
	if o.DryRun || !o.Config().Yes {
		list, err := svc.ReleaseStale(ctx, o.Stale, true)
		if err != nil {
			return err
		}
		if o.DryRun || len(list) == 0 {
			return writeSlice(o.env, format, activationColumns(), list, none)
		}
		if err := o.confirmRelease(list); err != nil {
			return err
		}
	}
	released, err := svc.ReleaseStale(ctx, o.Stale, false)
	if err != nil || o.quiet() {
		return err
	}
	return writeSlice(o.env, format, activationColumns(), released, none)
}

// confirmRelease shows the activations a release would free on stderr and
// asks; without a terminal there is nobody to ask: --yes must say it.
func (o *activationsReleaseOptions) confirmRelease(list []licensing.Activation) error {
	what := fmt.Sprintf("%d activation(s) not seen for %s", len(list), o.stale)
	if !o.Config().Yes && o.IO.StdinTTY {
		l := &output.List[licensing.Activation]{Format: output.Table, Columns: activationColumns()}
		if err := l.Begin(o.IO.ErrOut); err != nil {
			return err
		}
		for _, a := range list {
			if err := l.Add(a); err != nil {
				return err
			}
		}
		if err := l.End(); err != nil {
			return err
		}
	}
	return o.confirm("release would free the seats of "+what, "Release "+what+"?", "nothing was released; --dry-run lists them")
}
