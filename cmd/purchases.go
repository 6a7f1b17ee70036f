package cmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newPurchasesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "purchases", Aliases: []string{"purchase"}, Short: "List, show and refund purchases; find them across accounts (operators)"}
	cmd.AddCommand(newPurchasesListCmd(f, nil), newPurchasesShowCmd(f, nil), newPurchasesRefundCmd(f, nil), newPurchasesFindCmd(f, nil))
	return cmd
}

type purchasesFindOptions struct {
	env
	PurchaseID string
}

func newPurchasesFindCmd(f *Factory, runF func(*purchasesFindOptions) error) *cobra.Command {
	o := &purchasesFindOptions{env: f.env()}
	return &cobra.Command{
		Use:   "find P-ID",
		Short: "Find who bought a purchase and the account each of its licenses is in now",
		Long: `Find a purchase by its ID in every account: the account that bought it, its
purchase email and total, and each of its licenses with the account and
company it is in now (a purchase's licenses may have been attached to other
accounts, one key at a time).

` + operatorOnly(licensing.ScopeLookup),
		Example: "  licensectl purchases find P-7K3D9QX2M1AB\n  licensectl purchases find P-7K3D9QX2M1AB -o json",
		Args:    exactArgs(1, "a purchase ID"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := licensing.NormalizePurchaseID(args[0])
			if err != nil {
				return err
			}
			o.PurchaseID = id
			if runF != nil {
				return runF(o)
			}
			return purchasesFindRun(c.Context(), o)
		},
	}
}

func purchasesFindRun(ctx context.Context, o *purchasesFindOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	p, err := svc.FindPurchase(ctx, o.PurchaseID)
	if err != nil {
		return err
	}
	type L = licensing.PurchaseOwned
	cols := []output.Column[L]{
		{Header: "KEY", Keep: true, Value: func(l L) string { return l.Key }},
		{Header: "PRODUCT", Priority: 1, Whole: true, Value: func(l L) string { return l.Product }},
		{Header: "ACCOUNT", Priority: 3, Value: func(l L) string { return accountOrWaiting(l.Account) }, CSV: func(l L) string { return deref(l.Account) }},
		{Header: "COMPANY", Priority: 2, Value: func(l L) string { return companyName(l.Company) }, CSV: func(l L) string { return deref(l.Company) }},
	}
	switch format {
	case output.JSON, output.YAML:
		return output.Object(o.IO.Out, format, p, nil)
	case output.CSV:
		return writeSlice(o.env, format, cols, p.Licenses, "")
	}
	if err := output.KeyValues(o.IO.Out, [][2]string{
		{"Purchase", p.PurchaseID},
		{"Buyer account", p.Buyer},
		{"Purchase email", p.PurchaseEmail},
		{"Total", fmt.Sprintf("$%s %s", licensing.FormatCents(p.TotalCents), p.Currency)},
		{"Created", p.CreatedAt.Format(time.RFC3339)},
	}); err != nil {
		return err
	}
	if len(p.Licenses) == 0 {
		_, err := io.WriteString(o.IO.Out, "\nNo licenses\n")
		return err
	}
	fmt.Fprintf(o.IO.Out, "\n%d license(s):\n", len(p.Licenses))
	l := newList(o.env, format, cols, "")
	l.Page = false // a list inside a summary
	return writeList(l, o.env, p.Licenses)
}
