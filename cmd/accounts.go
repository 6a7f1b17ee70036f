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
	"github.com/spf13/pflag"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newAccountsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Create, list, disable and enable accounts, manage API tokens"}
	cmd.AddCommand(newTokenCmd(f), newAccountsCreateCmd(f, nil), newAccountsListCmd(f, nil),
		newAccountsDisableCmd(f, nil, true), newAccountsDisableCmd(f, nil, false))
	return cmd
}

type accountsListOptions struct{ env }

func newAccountsListCmd(f *Factory, runF func(*accountsListOptions) error) *cobra.Command {
	o := &accountsListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list",
		Short:   "List accounts",
		Example: "  licensectl accounts list\n  licensectl accounts list -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return accountsListRun(c.Context(), o)
		},
	}
}

func accountsListRun(ctx context.Context, o *accountsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	list, err := svc.ListAccounts(ctx)
	if err != nil {
		return err
	}
	return writeSlice(o.env, format, []output.Column[licensing.Account]{
		{Header: "EMAIL", Keep: true, Value: func(a licensing.Account) string { return a.Email }},
		{Header: "CREATED", Priority: 2, Value: func(a licensing.Account) string { return a.CreatedAt.Format(dateTimeLayout) }},
		{Header: "DISABLED", Field: "disabled_at", Priority: 1, Value: func(a licensing.Account) string {
			if a.DisabledAt == nil {
				return "-"
			}
			return a.DisabledAt.Format(dateTimeLayout)
		}},
	}, list, "No accounts yet — create one with `licensectl accounts create EMAIL`")
}

type accountsDisableOptions struct {
	env
	Email    string
	Disabled bool
}

// newAccountsDisableCmd is accounts disable (disable true) or accounts
// enable.
func newAccountsDisableCmd(f *Factory, runF func(*accountsDisableOptions) error, disable bool) *cobra.Command {
	o := &accountsDisableOptions{env: f.env(), Disabled: disable}
	c := &cobra.Command{
		Use:   "disable EMAIL",
		Short: "Disable an account: its API tokens stop working at once; its data stays",
		Long: `Disable an account: its API tokens are refused from the next request on,
over every server sharing the store. Its licenses, activations and plans
stay as they are, and validation keeps answering for its licenses.
licensectl accounts enable EMAIL undoes it; the tokens work again.

` + operatorOnly(licensing.ScopeAccountsWrite),
		Example: "  licensectl accounts disable cust@example.com\n  licensectl accounts enable cust@example.com",
		Args:    exactArgs(1, "an email"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Email = args[0]
			if runF != nil {
				return runF(o)
			}
			return accountsDisableRun(c.Context(), o)
		},
	}
	if !disable {
		c.Use, c.Short = "enable EMAIL", "Enable a disabled account again: its API tokens work again"
		c.Long = "Enable a disabled account: its API tokens that are neither revoked nor\nexpired work again.\n\n" + operatorOnly(licensing.ScopeAccountsWrite)
		c.Example = "  licensectl accounts enable cust@example.com"
	}
	return c
}

func accountsDisableRun(ctx context.Context, o *accountsDisableOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, err := svc.SetAccountDisabled(ctx, o.Email, o.Disabled)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, a, func(w io.Writer) error {
		if a.DisabledAt != nil {
			_, err := fmt.Fprintf(w, "Account %s is disabled since %s: its API tokens are refused\n", a.Email, a.DisabledAt.Format(time.RFC3339))
			return err
		}
		_, err := fmt.Fprintf(w, "Account %s is enabled: its API tokens work\n", a.Email)
		return err
	})
}

func newCompaniesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "companies", Short: "Create and list the acting account's companies"}
	cmd.AddCommand(newCompaniesCreateCmd(f, nil), newCompaniesListCmd(f, nil))
	return cmd
}

type companiesCreateOptions struct {
	env
	Name string
}

func newCompaniesCreateCmd(f *Factory, runF func(*companiesCreateOptions) error) *cobra.Command {
	o := &companiesCreateOptions{env: f.env()}
	return &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a company licenses can be matched to",
		Example: `  licensectl companies create "Acme Dental"`,
		Args:    exactArgs(1, "a company name"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(o)
			}
			return companiesCreateRun(c.Context(), o)
		},
	}
}

func companiesCreateRun(ctx context.Context, o *companiesCreateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	co, err := svc.CreateCompany(ctx, o.Name)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, co, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Created company %q\n", co.Name)
		return err
	})
}

type companiesListOptions struct{ env }

func newCompaniesListCmd(f *Factory, runF func(*companiesListOptions) error) *cobra.Command {
	o := &companiesListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list",
		Short:   "List companies with their license counts",
		Example: "  licensectl companies list\n  licensectl companies list -o csv",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return companiesListRun(c.Context(), o)
		},
	}
}

func companiesListRun(ctx context.Context, o *companiesListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	list, err := svc.ListCompanies(ctx)
	if err != nil {
		return err
	}
	return writeSlice(o.env, format, []output.Column[licensing.Company]{
		{Header: "NAME", Keep: true, Value: func(co licensing.Company) string { return co.Name }},
		{Header: "LICENSES", Priority: 2, Value: func(co licensing.Company) string { return strconv.Itoa(co.Licenses) }},
		{Header: "CREATED", Priority: 1, Value: func(co licensing.Company) string { return co.CreatedAt.Format(dateTimeLayout) }},
	}, list, "No companies yet — create one with `licensectl companies create NAME`")
}

// accountSource names where the acting account was set: the flag, the
// environment or the config file.
func accountSource(flags *pflag.FlagSet, cfg *Config) string {
	switch {
	case changed(flags, "account"):
		return "--account"
	case os.Getenv("LICENSECTL_ACCOUNT") != "":
		return "LICENSECTL_ACCOUNT"
	case cfg.File != "":
		return "account: in " + cfg.File
	}
	return "--account"
}

// checkTokenAccount refuses an acting account the API token does not belong
// to: over the http backend the token decides the account, and a silent
// switch to the token's account would show or change other data than asked
// for. It costs a round trip only when an account is set.
func (f *Factory) checkTokenAccount(ctx context.Context, c *httpapi.Client) error {
	if strings.TrimSpace(f.cfg.Account) == "" || strings.HasPrefix(f.cfg.Token, "lco_") {
		// An operator's token acts for the account named; the server
		// checks it may.
		return nil
	}
	want, err := licensing.NormalizeEmail(f.cfg.Account)
	if err != nil {
		return err
	}
	accounts, err := c.ListAccounts(ctx)
	if err != nil {
		return err
	}
	if got := accounts[0].Email; got != want {
		return licensing.Errorf(licensing.EINVALID, "the acting account %s (%s) is not the API token's account %s", want, f.accountFrom, got).
			WithHint("with backend http the API token decides the account: leave the account unset, or use a token of %s", want)
	}
	return nil
}

type accountsCreateOptions struct {
	env
	Email     string
	IfMissing bool
}

func newAccountsCreateCmd(f *Factory, runF func(*accountsCreateOptions) error) *cobra.Command {
	o := &accountsCreateOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "create EMAIL [--if-missing]",
		Short: "Create an account; licenses bought with its email appear in it",
		Long: `Create an account identified by its login email. Licenses already purchased
with this email (and not in another account) appear in it at once.

An account that exists already is a conflict (exit 5); with --if-missing it
is success (exit 0) and nothing changes, so a set-up script can run twice.`,
		Example: "  licensectl accounts create ops@example.com\n  licensectl accounts create ops@example.com --if-missing",
		Args:    exactArgs(1, "an email"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Email = args[0]
			if runF != nil {
				return runF(o)
			}
			return accountsCreateRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.IfMissing, "if-missing", false, "succeed, changing nothing, when the account exists already")
	return c
}

func accountsCreateRun(ctx context.Context, o *accountsCreateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, err := svc.CreateAccount(ctx, o.Email)
	existing := false
	if err != nil && o.IfMissing && licensing.ErrorCode(err) == licensing.ECONFLICT {
		if a, err = findAccount(ctx, svc, o.Email); a != nil {
			existing = true
		}
	}
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, accountView{Account: *a, Existing: existing}, func(w io.Writer) error {
		if existing {
			_, err := fmt.Fprintf(w, "Account %s already exists (--if-missing: nothing to do)\n", a.Email)
			return err
		}
		_, err := fmt.Fprintf(w, "Created account %s (%d licenses already purchased with this email attached)\n", a.Email, a.Attached)
		return err
	})
}

// accountView is what accounts create prints: the account, and whether it
// existed already (--if-missing).
type accountView struct {
	licensing.Account
	Existing bool `json:"existing"`
}

// findAccount returns the account with this email, or the conflict error
// that said it exists when it cannot be found.
func findAccount(ctx context.Context, svc licensing.Services, email string) (*licensing.Account, error) {
	want, err := licensing.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	list, err := svc.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if a.Email == want {
			return &a, nil
		}
	}
	return nil, licensing.Errorf(licensing.ECONFLICT, "account %s already exists", want)
}
