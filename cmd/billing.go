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

func newBillingCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "billing", Short: "The payment provider: save a card, see the saved card"}
	cmd.AddCommand(newBillingShowCmd(f, nil), newBillingSetupCmd(f, nil))
	return cmd
}

type billingOptions struct {
	env
	Setup bool
}

func newBillingShowCmd(f *Factory, runF func(*billingOptions) error) *cobra.Command {
	o := &billingOptions{env: f.env()}
	return &cobra.Command{
		Use:     "show",
		Short:   "Show the acting account's customer and saved card at the payment provider",
		Example: "  licensectl billing show\n  licensectl billing show -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return billingRun(c.Context(), o)
		},
	}
}

func newBillingSetupCmd(f *Factory, runF func(*billingOptions) error) *cobra.Command {
	o := &billingOptions{env: f.env(), Setup: true}
	return &cobra.Command{
		Use:   "setup",
		Short: "Print a link where the acting account saves a card for purchases and renewals",
		Long: `Print a Stripe Checkout link (setup mode) where the card holder saves a card.
Purchases, maintenance and renewals are then charged to it off-session.
Needs payment.provider: stripe.`,
		Example: "  licensectl billing setup",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return billingRun(c.Context(), o)
		},
	}
}

func billingRun(ctx context.Context, o *billingOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	var b *licensing.Billing
	if o.Setup {
		b, err = svc.SetupBilling(ctx)
	} else {
		b, err = svc.ShowBilling(ctx)
	}
	if err != nil {
		return err
	}
	return output.Object(o.IO.Out, format, b, func(w io.Writer) error {
		card := "none saved: run `licensectl billing setup`"
		if m := b.Method; m != nil {
			card = fmt.Sprintf("%s ending %s, expires %02d/%d", m.Brand, m.Last4, m.ExpMonth, m.ExpYear)
		}
		if err := output.KeyValues(w, [][2]string{{"Provider", b.Provider}, {"Customer", b.Customer}, {"Card", card}}); err != nil {
			return err
		}
		if b.SetupURL != "" {
			_, err := fmt.Fprintf(w, "\nSave a card here (open it in a browser):\n  %s\n", b.SetupURL)
			return err
		}
		return nil
	})
}

func newPaymentsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "payments", Short: "Check the payment provider's charges against the purchases (operators)"}
	cmd.AddCommand(newPaymentsReconcileCmd(f, nil))
	return cmd
}

type reconcileOptions struct {
	env
	Since string
	since time.Time
}

func newPaymentsReconcileCmd(f *Factory, runF func(*reconcileOptions) error) *cobra.Command {
	o := &reconcileOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "reconcile [--since DATE]",
		Short: "List charges without purchases and paid purchases without charges",
		Long: `Compare the payment provider's charges with the purchases, across accounts:
a charge that succeeded with no purchase recording it (the process died
between the charge and the commit, and the purchase was never retried with
its idempotency key), a paid purchase whose charge the provider does not list
as succeeded, and amounts that differ. Exit 0 when everything matches, 5
when something does not.

` + operatorOnly(licensing.ScopeLookup),
		Example: "  licensectl payments reconcile --since 2026-11-01\n  licensectl payments reconcile -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.since = o.Clock.Now().Add(-30 * 24 * time.Hour)
			if o.Since != "" {
				t, err := parseTime(o.Since)
				if err != nil {
					return err
				}
				o.since = t
			}
			if runF != nil {
				return runF(o)
			}
			return reconcileRun(c.Context(), o)
		},
	}
	c.Flags().StringVar(&o.Since, "since", "", "charges and purchases made at or after this time (default: 30 days ago)")
	return c
}

func reconcileRun(ctx context.Context, o *reconcileOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	r, err := svc.ReconcilePayments(ctx, o.since)
	if err != nil {
		return err
	}
	if err := output.Object(o.IO.Out, format, r, func(w io.Writer) error {
		fmt.Fprintf(w, "%s since %s: %d matched\n", r.Provider, r.Since.Format(time.RFC3339), r.Matched)
		for _, c := range r.ChargesWithoutPurchase {
			fmt.Fprintf(w, "charge without purchase: %s %s (%s, key %s)\n", c.Ref, signedMoney(c.AmountCents, c.Currency), orDash(c.Account), orDash(c.Key))
		}
		for _, p := range r.PurchasesWithoutCharge {
			fmt.Fprintf(w, "purchase without charge: %s %s (%s)\n", p.ID, signedMoney(p.TotalCents, p.Currency), orDash(p.PaymentRef))
		}
		for _, p := range r.AmountMismatches {
			fmt.Fprintf(w, "amount differs: %s %s (%s)\n", p.ID, signedMoney(p.TotalCents, p.Currency), p.PaymentRef)
		}
		return nil
	}); err != nil {
		return err
	}
	if n := len(r.ChargesWithoutPurchase) + len(r.PurchasesWithoutCharge) + len(r.AmountMismatches); n > 0 {
		return licensing.Errorf(licensing.ECONFLICT, "%d charge(s) and purchase(s) do not match", n)
	}
	return nil
}
