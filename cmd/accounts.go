package cmd

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

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
