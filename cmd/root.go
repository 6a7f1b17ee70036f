// Package cmd holds licensectl's commands. Each command group has its own file;
// a Factory gives commands their configuration, streams and backend lazily,
// and one function turns every error into a message and an exit code.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
	"github.com/licensectl/licensectl/internal/output"
)

// Exit codes, documented in `licensectl help exit-codes`.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitAuth        = 4
	ExitConflict    = 5
	ExitTempFail    = 75 // EX_TEMPFAIL: store busy or unavailable, rate limited
	ExitInterrupted = 130
)

// BuildInfo is stamped into the binary at release time.
type BuildInfo struct {
	Version, Commit, Date string
}

// Factory builds what commands need, once, on first use.
type Factory struct {
	IO    *IOStreams
	Build BuildInfo
	Clock licensing.Clock

	cfg         *Config
	accountFrom string // where --account came from, for messages
	services    licensing.Services
	// preRan records that flag parsing succeeded, so later errors are not usage errors.
	preRan bool
	jq     *jqFilter // set by --jq: stdout is held back and filtered at the end
}

// Config returns the resolved configuration (valid once flags are parsed).
func (f *Factory) Config() *Config { return f.cfg }

// Services opens the configured backend on first use.
func (f *Factory) Services(ctx context.Context) (licensing.Services, error) {
	if f.services != nil {
		return f.services, nil
	}
	if f.cfg.Backend == "http" {
		if f.cfg.APIURL == "" {
			return nil, licensing.Errorf(licensing.EINVALID, "backend http needs the server's URL").
				WithHint("run `licensectl login --api-url URL`, or set api.url / LICENSECTL_API_URL")
		}
		c, err := httpapi.NewClient(f.cfg.APIURL, f.cfg.Token)
		if err != nil {
			return nil, err
		}
		c.RetryFor = f.cfg.HTTP.RetryFor
		if c.RetryFor == 0 {
			c.RetryFor = -1 // http.retry_for: 0 turns retries off
		}
		if f.IO.StderrTTY && !f.cfg.Quiet {
			c.Notify = func(reason string) { fmt.Fprintf(f.IO.ErrOut, "retrying… (%s)\n", reason) }
		}
		if err := f.checkTokenAccount(ctx, c); err != nil {
			c.Close()
			return nil, err
		}
		f.services = c
		return c, nil
	}
	s, err := openStore(ctx, f, false)
	if err != nil {
		return nil, err
	}
	f.services = s
	return s, nil
}

// Format is the output format for this invocation.
func (f *Factory) Format() (output.Format, error) { return f.env().format() }

func (f *Factory) close() {
	if f.services != nil {
		f.services.Close()
	}
}

// Main runs licensectl as a process: os.Args, the real streams, os.Exit. The
// clock is the system's; the end-to-end tests' binary passes a pinned one.
func Main(build BuildInfo, clock licensing.Clock) {
	os.Exit(Execute(context.Background(), build, clock, os.Args[1:], SystemIO()))
}

// Execute runs one invocation and returns its exit code.
func Execute(ctx context.Context, build BuildInfo, clock licensing.Clock, args []string, io *IOStreams) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	f := &Factory{IO: io, Build: build, Clock: clock}
	defer f.close()
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	err := f.finishJQ(ctx, root.ExecuteContext(ctx))
	if err == nil {
		return ExitOK
	}
	code := exitCode(err, f.preRan)
	var reported interface{ Silent() bool }
	silent := errors.As(err, &reported) && reported.Silent()
	if silent {
		// Reported already, with its own exit code, even when a signal
		// came: `activations run` exits with its command's status.
		return code
	}
	if ctx.Err() != nil {
		code = ExitInterrupted
		err = errors.New("interrupted")
	}
	for _, msg := range errorMessages(err) {
		fmt.Fprintf(io.ErrOut, "error: %s\n", msg)
	}
	var unknown *unknownCommandError
	if errors.As(err, &unknown) {
		unknown.writeDetails(io.ErrOut)
	} else if hint := licensing.ErrorHint(err); hint != "" {
		fmt.Fprintf(io.ErrOut, "hint: %s\n", hint)
	} else if code == ExitUsage && !f.preRan {
		fmt.Fprintf(io.ErrOut, "hint: %s\n", usageErrorHint("licensectl "+commandPath(root, args)))
	}
	return code
}

// errorMessages is what Execute prints, an "error: " line each: one line,
// or one per problem for an error that lists several (a purchase file's
// bad rows).
func errorMessages(err error) []string {
	var many interface{ Messages() []string }
	if errors.As(err, &many) {
		var out []string
		for _, m := range many.Messages() {
			out = append(out, strings.Join(strings.Fields(m), " "))
		}
		return out
	}
	return []string{oneLineMessage(err)}
}

func oneLineMessage(err error) string {
	return strings.Join(strings.Fields(licensing.ErrorMessage(err)), " ")
}

// commandPath names the deepest command the arguments reach, for the hint.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return ""
	}
	return strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
}

// exitCode maps an error to the documented exit code. Errors that are not
// domain errors and happen before the command ran are cobra's usage errors.
func exitCode(err error, ran bool) int {
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	// A certificate that failed verification has an exit code per reason.
	var ve *offline.VerifyError
	if errors.As(err, &ve) {
		return exitCodeForCertificate(ve.Reason)
	}
	// A command with an exit code of its own says which.
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var de *licensing.Error
	if !errors.As(err, &de) {
		if !ran {
			return ExitUsage
		}
		return ExitFailure
	}
	return exitCodeFor(de.Code)
}

// exitCodeFor is the one table from domain error codes to exit codes.
func exitCodeFor(code string) int {
	switch code {
	case licensing.EINVALID:
		return ExitUsage
	case licensing.ENOTFOUND:
		return ExitNotFound
	case licensing.EUNAUTHORIZED, licensing.EFORBIDDEN:
		return ExitAuth
	case licensing.ECONFLICT:
		return ExitConflict
	case licensing.ERATELIMITED, licensing.EUNAVAILABLE:
		return ExitTempFail
	}
	return ExitFailure
}

// exitCodeForCertificate is the table from the reasons a certificate fails
// verification to their exit codes.
func exitCodeForCertificate(r offline.Reason) int {
	switch r {
	case offline.ReasonBadSignature:
		return ExitCertSignature
	case offline.ReasonExpired:
		return ExitCertExpired
	case offline.ReasonWrongMachine:
		return ExitCertMachine
	case offline.ReasonUnknownKey:
		return ExitCertKey
	}
	return ExitUsage
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "licensectl",
		Short:         "Manage software licenses, maintenance plans and activations",
		Long:          "licensectl manages software licenses, their maintenance plans and activations,\non an embedded SQLite store (the default) or a remote licensectl server.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       f.Build.Version,
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			f.preRan = true
			if isGroup(c) {
				return nil // a bare group only prints its help
			}
			cfg, err := loadConfig(c.Flags())
			if err != nil {
				return err
			}
			f.cfg = cfg
			f.accountFrom = accountSource(c.Flags(), cfg)
			if c.Name() != cobra.ShellCompRequestCmd { // never into a prompt at <TAB>
				for _, w := range cfg.Warnings {
					fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", w)
				}
			}
			return f.startOutput(c)
		},
		Example: `  licensectl init
  licensectl accounts create ops@example.com
  licensectl --account ops@example.com licenses buy --product backup-ultimate --quantity 5
  licensectl --account ops@example.com licenses list --validity valid --sort -created_at`,
	}
	root.SetVersionTemplate(fmt.Sprintf("licensectl %s (commit %s, built %s, %s)\n", f.Build.Version, f.Build.Commit, f.Build.Date, runtime.Version()))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// `maintenance byu --all`: the unknown subcommand, not its flag, is the mistake.
		if isGroup(c) && c.Flags().NArg() > 0 {
			return unknownSubcommand(c, c.Flags().Args())
		}
		return &licensing.Error{Code: licensing.EINVALID, Message: err.Error(),
			Hint: fmt.Sprintf("run `%s --help` for usage", c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.String("config", "", "config `FILE` (default $XDG_CONFIG_HOME/licensectl/config.yaml)")
	pf.String("backend", "local", "backend: local or http")
	pf.String("db", "", "store `PATH|URL`: a SQLite file (default $XDG_DATA_HOME/licensectl/licensectl.db) or a postgres:// URL")
	pf.String("api-url", "", "`URL` of a licensectl server (backend http)")
	pf.String("token", "", "API `TOKEN` for the http backend")
	pf.String("account", "", "acting account (its login `EMAIL`)")
	pf.StringP("output", "o", "", "output format: table|wide|json|yaml|csv (default table at a terminal, json otherwise)")
	pf.Bool("no-color", false, "disable colour")
	pf.Bool("no-headers", false, "omit table and CSV headers")
	pf.Bool("no-pager", false, "never send long tables through the pager ($PAGER, default less -FRX)")
	pf.BoolP("quiet", "q", false, "print only errors")
	pf.BoolP("yes", "y", false, "answer yes to every question")
	pf.String("jq", "", "filter JSON output with a jq expression; implies -o json, prints strings raw, and collects lists before filtering instead of streaming them")

	root.AddCommand(
		newInitCmd(f, nil), newMigrateCmd(f, nil),
		newProductsCmd(f),
		newAccountsCmd(f), newOperatorsCmd(f),
		newCompaniesCmd(f),
		newLicensesCmd(f), newPurchasesCmd(f), newBillingCmd(f), newPaymentsCmd(f), newEventsCmd(f), newWebhooksCmd(f), newNotificationsCmd(f),
		newAuditCmd(f),
		newMaintenanceCmd(f), newRenewalsCmd(f),
		newActivationsCmd(f), newKeysCmd(f),
		newServeCmd(f),
		newLoginCmd(f, nil),
		newBackupCmd(f, nil), newRestoreCmd(f, nil),
		newVersionCmd(f, nil), newHealthcheckCmd(f, nil),
		newExitCodesTopic(),
		newDocsCmd(),
	)
	registerCompletions(f, root)
	finishTree(root)
	return root
}

// args returns a cobra.PositionalArgs that answers usage errors with exit 2.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return &licensing.Error{Code: licensing.EINVALID,
				Message: fmt.Sprintf("%s expects %s, got %d argument(s)", c.CommandPath(), what, len(args)),
				Hint:    fmt.Sprintf("usage: %s", c.UseLine())}
		}
		return nil
	}
}

// maxArgs is exactArgs for up to n arguments.
func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return &licensing.Error{Code: licensing.EINVALID,
				Message: fmt.Sprintf("%s expects %s, got %d argument(s)", c.CommandPath(), what, len(args)),
				Hint:    fmt.Sprintf("usage: %s", c.UseLine())}
		}
		return nil
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &licensing.Error{Code: licensing.EINVALID,
			Message: fmt.Sprintf("unexpected argument %q", args[0]),
			Hint:    fmt.Sprintf("usage: %s", c.UseLine())}
	}
	return nil
}

// changed reports whether a flag was set on the command line.
func changed(fs *pflag.FlagSet, name string) bool {
	fl := fs.Lookup(name)
	return fl != nil && fl.Changed
}

func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes and what they mean",
		Long: `licensectl exits with:

  0    success
  1    unexpected failure (I/O, a damaged store, a bug), or a question
       answered no: nothing was done
  2    usage error or invalid input (unknown command, bad flag, malformed
       key, bad CSV row)
  3    not found (unknown product, company, license, purchase)
  4    not authenticated or not permitted (no acting account, a bad,
       revoked or expired token, a disabled account or operator, or a
       token that lacks the scope the command needs)
  5    conflict (already exists, billing mode fixed, idempotency key reused
       with other parameters, no seat free)
  10-13 activations offline verify: altered, expired, other machine,
       unknown signing key (see its --help)
  75   temporary failure: the store is busy or unavailable, or the server
       rate-limited the request; try again (EX_TEMPFAIL)
  130  interrupted (Ctrl-C / SIGTERM); nothing was half-written

Errors are printed on stderr as one line "error: ..." and, where it helps,
a second line "hint: ...". Data goes to stdout only.`,
	}
}
