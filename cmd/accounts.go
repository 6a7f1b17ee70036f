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
	cmd.AddCommand(newTokenCmd(f), &cobra.Command{
		Use:   "create EMAIL",
		Short: "Create an account; licenses bought with its email appear in it",
		Long: `Create an account identified by its login email. Licenses already purchased
with this email (and not in another account) appear in it at once.`,
		Example: "  licensectl accounts create ops@example.com",
		Args:    exactArgs(1, "an email"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			a, err := svc.CreateAccount(c.Context(), args[0])
			if err != nil {
				return err
			}
			if f.cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, a, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Created account %s (%d licenses already purchased with this email attached)\n", a.Email, a.Attached)
				return err
			})
		},
	}, &cobra.Command{
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
				{Header: "EMAIL", Value: func(a licensing.Account) string { return a.Email }},
				{Header: "CREATED", Value: func(a licensing.Account) string { return a.CreatedAt.Format(dateTimeLayout) }},
			}, list)
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
				{Header: "NAME", Value: func(co licensing.Company) string { return co.Name }},
				{Header: "LICENSES", Value: func(co licensing.Company) string { return strconv.Itoa(co.Licenses) }},
				{Header: "CREATED", Value: func(co licensing.Company) string { return co.CreatedAt.Format(dateTimeLayout) }},
			}, list)
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
