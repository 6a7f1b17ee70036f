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

// Exit codes of `activations offline verify`, one per reason a certificate
// fails (a malformed file is a usage error, 2).
const (
	ExitCertSignature = 10
	ExitCertExpired   = 11
	ExitCertMachine   = 12
	ExitCertKey       = 13
)

// exitError is an error with its own exit code; root's exitCode honours it.
// A silent one was already reported on stdout: Execute prints nothing more.
type exitError struct {
	err    *licensing.Error
	code   int
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }
func (e *exitError) Silent() bool  { return e.silent }

func newActivationsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "activations", Aliases: []string{"activation"},
		Short: "Activate and release machines, online and offline"}
	cmd.AddCommand(newActivationsListCmd(f, nil), newActivateCmd(f, nil), newDeactivateCmd(f, nil),
		newHeartbeatCmd(f, nil), newActivationsReleaseCmd(f, nil), newActivationsRunCmd(f, nil), newOfflineCmd(f))
	return cmd
}

func activationColumns() []output.Column[licensing.Activation] {
	type A = licensing.Activation
	return []output.Column[A]{
		{Header: "ID", Keep: true, Value: func(a A) string { return strconv.FormatInt(a.ID, 10) }},
		{Header: "LICENSE", Field: "license_key", Keep: true, Value: func(a A) string { return a.LicenseKey }},
		{Header: "PRODUCT", Wide: true, Value: func(a A) string { return a.Product }},
		{Header: "MACHINE", Priority: 9, Value: func(a A) string { return a.Machine }},
		{Header: "FINGERPRINT", Wide: true, Value: func(a A) string { return a.Fingerprint }},
		{Header: "OS", Enum: true, Priority: 5, Value: func(a A) string { return a.OS }},
		{Header: "VERSION", Priority: 6, Value: func(a A) string { return a.Version }},
		{Header: "MODE", Enum: true, Priority: 7, Value: func(a A) string { return a.Mode }},
		{Header: "RM", Enum: true, Priority: 4, Value: func(a A) string { return a.RM }},
		{Header: "SINCE", Field: "activated_at", Priority: 3, Whole: true, Value: func(a A) string { return a.ActivatedAt.Format(dateTimeLayout) },
			CSV: func(a A) string { return a.ActivatedAt.Format(time.RFC3339) }},
		{Header: "LAST SEEN", Field: "last_seen_at", Priority: 8, Whole: true, Value: func(a A) string { return a.LastSeenAt.Format(dateTimeLayout) },
			CSV: func(a A) string { return a.LastSeenAt.Format(time.RFC3339) }},
		{Header: "LEASE EXPIRES", Field: "lease_expires_at", Wide: true, Value: func(a A) string { return dateTime(a.LeaseExpiresAt) },
			CSV: func(a A) string { return rfc3339(a.LeaseExpiresAt) }},
	}
}

type activationsListOptions struct {
	env
	Filter licensing.ActivationFilter
	stale  string
	// Filtered: a filter was given, for the note when nothing is found.
	Filtered bool
}

func newActivationsListCmd(f *Factory, runF func(*activationsListOptions) error) *cobra.Command {
	o := &activationsListOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "list",
		Short: "List current activations: machine, OS, version, online/offline, since, last seen, lease",
		Long: `List the account's current activations, oldest first. A leased activation
whose lease ran out holds no seat and is not listed. -o wide adds the
product, the fingerprint and when each lease expires ("-": not leased).

--stale DUR lists only the activations not seen for longer than DUR: no
heartbeat, validation or activation since. ` + "`licensectl activations release --stale DUR`" + `
releases them.`,
		Example: `  licensectl activations list
  licensectl activations list --license 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4
  licensectl activations list --offline --machine vault-01 -o json
  licensectl activations list --stale 7d -o wide`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.Filter.LicenseKey != "" {
				key, err := licensing.ParseKey(o.Filter.LicenseKey)
				if err != nil {
					return err
				}
				o.Filter.LicenseKey = key
			}
			if changed(c.Flags(), "stale") {
				stale, err := parseDurationFlag("--stale", o.stale, o.now())
				if err != nil {
					return err
				}
				o.Filter.Stale = stale
			}
			o.Filtered = filtered(c)
			if runF != nil {
				return runF(o)
			}
			return activationsListRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Filter.LicenseKey, "license", "", "only this license's activations")
	fl.StringVar(&o.Filter.Machine, "machine", "", "only this machine (by name, any case)")
	fl.BoolVar(&o.Filter.Offline, "offline", false, "only offline activations")
	fl.StringVar(&o.stale, "stale", "", "only activations not seen for longer than `DURATION`, e.g. 1h or 7d")
	return c
}

func activationsListRun(ctx context.Context, o *activationsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	list, err := svc.ListActivations(ctx, o.Filter)
	if err != nil {
		return err
	}
	empty := "No machines are activated — activate one with `licensectl activations activate KEY ...`"
	if o.Filtered {
		empty = "No activations match these filters"
	}
	return writeSlice(o.env, format, activationColumns(), list, empty)
}

func (e env) writeActivation(format output.Format, a *licensing.Activation, verb string) error {
	if e.quiet() {
		return nil
	}
	return output.Object(e.IO.Out, format, a, func(w io.Writer) error {
		lease := ""
		if a.LeaseExpiresAt != nil {
			lease = fmt.Sprintf(", lease %s until %s", leaseText(a.LeaseSeconds), a.LeaseExpiresAt.Format(time.RFC3339))
		}
		_, err := fmt.Fprintf(w, "%s activation %d: %s on %s (%s, %s %s, %s), RM %s%s\n", verb, a.ID, a.LicenseKey, a.Machine,
			a.Fingerprint, a.OS, a.Version, a.Mode, a.RM, lease)
		return err
	})
}

func machineFlags(c *cobra.Command, r *licensing.ActivationRequest) {
	fl := c.Flags()
	fl.StringVar(&r.Machine, "machine", "", "machine `NAME` (required)")
	fl.StringVar(&r.Fingerprint, "fingerprint", "", "machine fingerprint `FP` (required)")
	fl.StringVar(&r.OS, "os", "", "`OS`: windows, macos or linux (required)")
	fl.StringVar(&r.Version, "version", "", "product version `V` installed, e.g. 7.9.4 (required)")
}

// requireFlags names, in one error, every flag of names that is missing or
// empty, so a CI job learns all of them at once.
func requireFlags(c *cobra.Command, names ...string) error {
	var missing []string
	for _, name := range names {
		if fl := c.Flags().Lookup(name); fl == nil || strings.TrimSpace(fl.Value.String()) == "" {
			missing = append(missing, "--"+name)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return licensing.Errorf(licensing.EINVALID, "%s is required", missing[0]).WithHint("usage: %s", c.UseLine())
	}
	return licensing.Errorf(licensing.EINVALID, "%s and %s are required", strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1]).
		WithHint("usage: %s", c.UseLine())
}

type activateOptions struct {
	env
	Request licensing.ActivationRequest
	seat    seatFlags
}

func newActivateCmd(f *Factory, runF func(*activateOptions) error) *cobra.Command {
	o := &activateOptions{env: f.env()}
	r := &o.Request
	c := &cobra.Command{
		Use:   "activate (KEY | --product SKU [--company C]) --machine NAME --fingerprint FP --os OS --version V [--lease DUR]",
		Short: "Activate a license on a machine (takes a seat)",
		Long: `Activate a license on a machine. A per-instance license has one seat; some
types have more (mbs-vm: 2). Activating the same fingerprint again returns the
existing activation (exit 0) and takes no seat.

--product SKU instead of a key takes a free seat of any of the account's
valid licenses of that product in the global pool, or with --company in
that company's licenses: a floating pool, where N licenses serve N machines
at once. The machine's own activation in the pool is returned if it has one.

--lease DUR (30s to 720h) makes a leased activation: it holds its seat only
until the lease runs out unless ` + "`licensectl activations heartbeat ID`" + ` renews it,
so a machine that disappears leaks no seat. ` + "`licensectl activations run`" + ` takes a
leased seat for as long as a command runs.

Refusals exit 5, each with its own message: no free seat, license expired,
trial expired, macOS/Linux on an edition other than Desktop or Server, license
suspended, platform not covered.`,
		Example: `  licensectl activations activate 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --machine build-01 \
      --fingerprint 4f:9a:0c --os linux --version 7.9.4
  licensectl activations activate --product backup-server --company "Acme Dental" \
      --machine ci-runner-7 --fingerprint run-8812 --os linux --version 7.9.4 --lease 10m`,
		Args: maxArgs(1, "at most one license key"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.seat.request(c, args, r, o.now()); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return activateRun(c.Context(), o)
		},
	}
	machineFlags(c, r)
	o.seat.add(c, r, "make a leased activation that expires unless renewed within `DURATION` (30s to 720h), e.g. 10m")
	return c
}

// seatFlags are what names the seat a machine takes - a license key or a
// product's floating pool - and its lease, shared by activate and run.
type seatFlags struct {
	lease string
}

func (s *seatFlags) add(c *cobra.Command, r *licensing.ActivationRequest, leaseUsage string) {
	fl := c.Flags()
	fl.StringVar(&r.Product, "product", "", "instead of a KEY: a free seat of any license of this product `SKU` (a floating pool)")
	fl.StringVar(&r.Company, "company", "", "with --product: the pool of company `C` (default: the global pool)")
	fl.StringVar(&s.lease, "lease", "", leaseUsage)
}

// request checks the seat and machine flags and fills r: exactly one of
// KEY and --product, every machine flag, and the lease in whole seconds.
// Flags named in required must be given too.
func (s *seatFlags) request(c *cobra.Command, args []string, r *licensing.ActivationRequest, now time.Time, required ...string) error {
	switch {
	case len(args) == 1 && r.Product != "":
		return licensing.Errorf(licensing.EINVALID, "name a license KEY or --product SKU, not both").
			WithHint("usage: %s", c.UseLine())
	case r.Company != "" && r.Product == "":
		return licensing.Errorf(licensing.EINVALID, "--company chooses a floating pool: it needs --product SKU").
			WithHint("usage: %s", c.UseLine())
	case len(args) == 0 && r.Product == "":
		return licensing.Errorf(licensing.EINVALID, "name a license KEY, or --product SKU for a seat of any license of that product").
			WithHint("usage: %s", c.UseLine())
	case len(args) == 1:
		key, err := licensing.ParseKey(args[0])
		if err != nil {
			return err
		}
		r.LicenseKey = key
	}
	if err := requireFlags(c, append([]string{"machine", "fingerprint", "os", "version"}, required...)...); err != nil {
		return err
	}
	if changed(c.Flags(), "lease") {
		lease, err := parseDurationFlag("--lease", s.lease, now)
		if err != nil {
			return err
		}
		if r.LeaseSeconds = int64(lease / time.Second); r.LeaseSeconds <= 0 {
			return licensing.Errorf(licensing.EINVALID, "invalid --lease %q: a lease lasts from 30s to 720h", licensing.ClipArg(s.lease)).
				WithHint("e.g. --lease 10m; leave --lease out for an activation that holds its seat until deactivated")
		}
	}
	return r.Normalize()
}

func activateRun(ctx context.Context, o *activateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, err := svc.Activate(ctx, o.Request)
	if err != nil {
		return err
	}
	verb := "Created"
	if a.Existing {
		verb = "Existing"
	}
	return o.writeActivation(format, a, verb)
}

type deactivateOptions struct {
	env
	Request licensing.DeactivateRequest
}

func newDeactivateCmd(f *Factory, runF func(*deactivateOptions) error) *cobra.Command {
	o := &deactivateOptions{env: f.env()}
	r := &o.Request
	c := &cobra.Command{
		Use:   "deactivate ID | --license KEY --fingerprint FP",
		Short: "Release an activation's seat",
		Long: `Release an activation's seat. An offline activation is released by its
machine's signed proof (activations offline release); --force releases it
without one, for a lost machine, and the audit log records that.`,
		Example: `  licensectl activations deactivate 12
  licensectl activations deactivate --license 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --fingerprint 4f:9a:0c
  licensectl activations deactivate 13 --force`,
		RunE: func(c *cobra.Command, args []string) error {
			byMachine := changed(c.Flags(), "license") || changed(c.Flags(), "fingerprint")
			switch {
			case len(args) == 1 && !byMachine:
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id <= 0 {
					return licensing.Errorf(licensing.EINVALID, "activation id %q is not a positive number", licensing.ClipArg(args[0]))
				}
				r.ID = id
			case len(args) == 0 && r.LicenseKey != "" && r.Fingerprint != "":
				key, err := licensing.ParseKey(r.LicenseKey)
				if err != nil {
					return err
				}
				r.LicenseKey = key
			default:
				return licensing.Errorf(licensing.EINVALID, "name the activation by ID, or by --license KEY and --fingerprint FP").
					WithHint("usage: %s", c.UseLine())
			}
			if runF != nil {
				return runF(o)
			}
			return deactivateRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&r.LicenseKey, "license", "", "license key of the activation")
	fl.StringVar(&r.Fingerprint, "fingerprint", "", "machine fingerprint of the activation")
	fl.BoolVar(&r.Force, "force", false, "release an offline activation without the machine's proof")
	return c
}

func deactivateRun(ctx context.Context, o *deactivateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, err := svc.Deactivate(ctx, o.Request)
	if err != nil {
		return err
	}
	return o.writeActivation(format, a, "Released")
}
