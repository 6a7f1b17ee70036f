package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newAccountsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Create and list accounts, manage API tokens"}
	cmd.AddCommand(newTokenCmd(f), newAccountsCreateCmd(f), &cobra.Command{
		Use:     "list",
		Short:   "List accounts",
		Example: "  licensectl accounts list\n  licensectl accounts list -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			list, err := svc.ListAccounts(c.Context())
			if err != nil {
				return err
			}
			return writeSlice(f, format, []output.Column[licensing.Account]{
				{Header: "EMAIL", Keep: true, Value: func(a licensing.Account) string { return a.Email }},
				{Header: "CREATED", Priority: 1, Value: func(a licensing.Account) string { return a.CreatedAt.Format(dateTimeLayout) }},
			}, list, "No accounts yet — create one with `licensectl accounts create EMAIL`")
		},
	})
	return cmd
}

func newCompaniesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "companies", Short: "Create and list the acting account's companies"}
	cmd.AddCommand(&cobra.Command{
		Use:     "create NAME",
		Short:   "Create a company licenses can be matched to",
		Example: `  licensectl companies create "Acme Dental"`,
		Args:    exactArgs(1, "a company name"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			co, err := svc.CreateCompany(c.Context(), args[0])
			if err != nil {
				return err
			}
			if f.cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, co, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Created company %q\n", co.Name)
				return err
			})
		},
	}, &cobra.Command{
		Use:     "list",
		Short:   "List companies with their license counts",
		Example: "  licensectl companies list\n  licensectl companies list -o csv",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			list, err := svc.ListCompanies(c.Context())
			if err != nil {
				return err
			}
			return writeSlice(f, format, []output.Column[licensing.Company]{
				{Header: "NAME", Keep: true, Value: func(co licensing.Company) string { return co.Name }},
				{Header: "LICENSES", Priority: 2, Value: func(co licensing.Company) string { return strconv.Itoa(co.Licenses) }},
				{Header: "CREATED", Priority: 1, Value: func(co licensing.Company) string { return co.CreatedAt.Format(dateTimeLayout) }},
			}, list, "No companies yet — create one with `licensectl companies create NAME`")
		},
	})
	return cmd
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
	if strings.TrimSpace(f.cfg.Account) == "" {
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

func newAccountsCreateCmd(f *Factory) *cobra.Command {
	var ifMissing bool
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
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			a, err := svc.CreateAccount(c.Context(), args[0])
			existing := false
			if err != nil && ifMissing && licensing.ErrorCode(err) == licensing.ECONFLICT {
				if a, err = findAccount(c.Context(), svc, args[0]); a != nil {
					existing = true
				}
			}
			if err != nil {
				return err
			}
			if f.cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, accountView{Account: *a, Existing: existing}, func(w io.Writer) error {
				if existing {
					_, err := fmt.Fprintf(w, "Account %s already exists (--if-missing: nothing to do)\n", a.Email)
					return err
				}
				_, err := fmt.Fprintf(w, "Created account %s (%d licenses already purchased with this email attached)\n", a.Email, a.Attached)
				return err
			})
		},
	}
	c.Flags().BoolVar(&ifMissing, "if-missing", false, "succeed, changing nothing, when the account exists already")
	return c
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
