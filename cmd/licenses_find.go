package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// noAccount is what a look-up shows for a license bought for an email that
// has no account yet.
const noAccount = "(none: waiting for an account)"

func accountOrWaiting(a *string) string {
	if a == nil {
		return noAccount
	}
	return *a
}

type licensesFindOptions struct {
	env
	Key string
}

func newLicensesFindCmd(f *Factory, runF func(*licensesFindOptions) error) *cobra.Command {
	o := &licensesFindOptions{env: f.env()}
	return &cobra.Command{
		Use:   "find KEY",
		Short: "Find the account a license is in, whoever owns it (operators)",
		Long: `Find a license by key in every account: the account it is in (none yet when
it was bought for an email without an account), its product, company,
purchase and purchase email. What a support engineer needs when a customer
calls with only a key; act for that account with --account EMAIL.

` + operatorOnly(licensing.ScopeLookup),
		Example: "  licensectl licenses find 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4\n  licensectl licenses find 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 -o json",
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
			return licensesFindRun(c.Context(), o)
		},
	}
}

func licensesFindRun(ctx context.Context, o *licensesFindOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	lo, err := svc.FindLicense(ctx, o.Key)
	if err != nil {
		return err
	}
	if format == output.JSON || format == output.YAML {
		return output.Object(o.IO.Out, format, lo, nil)
	}
	type O = licensing.LicenseOwner
	return writeSlice(o.env, format, []output.Column[O]{
		{Header: "KEY", Keep: true, Value: func(lo O) string { return lo.License.Key }},
		{Header: "ACCOUNT", Keep: true, Value: func(lo O) string { return accountOrWaiting(lo.Account) }, CSV: func(lo O) string { return deref(lo.Account) }},
		{Header: "PRODUCT", Priority: 5, Whole: true, Value: func(lo O) string { return lo.License.Product }},
		{Header: "COMPANY", Priority: 3, Value: func(lo O) string { return companyName(lo.License.Company) }, CSV: func(lo O) string { return deref(lo.License.Company) }},
		{Header: "PURCHASE", Field: "purchase_id", Priority: 2, Whole: true, Value: func(lo O) string { return lo.License.PurchaseID }},
		{Header: "PURCHASE EMAIL", Priority: 1, Value: func(lo O) string { return lo.License.PurchaseEmail }},
		{Header: "STATUS", Enum: true, Priority: 4, Value: func(lo O) string { return lo.License.Status }},
	}, []O{*lo}, "")
}
