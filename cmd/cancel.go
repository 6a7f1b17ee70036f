package cmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/output"
)

type cancelOptions struct {
	env
	ID   string
	Undo bool
}

func newLicensesCancelCmd(f *Factory, runF func(*cancelOptions) error) *cobra.Command {
	o := &cancelOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "cancel KEY [--undo]",
		Short: "Cancel a subscription: no more renewals; it stays valid until its paid period ends",
		Long: `Cancel a subscription license: the renewals engine no longer renews it, and
it stays valid until the period already paid for ends. --undo resumes the
renewals, as long as that period lasts. Lifetime licenses and trials do not
renew; to get money back, see ` + "`licensectl purchases refund`" + `.`,
		Example: `  licensectl licenses cancel ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2
  licensectl licenses cancel ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2 --undo`,
		Args: exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			o.ID = args[0]
			if runF != nil {
				return runF(o)
			}
			return licensesCancelRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Undo, "undo", false, "resume the renewals while the paid period lasts")
	return c
}

func licensesCancelRun(ctx context.Context, o *cancelOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	l, err := svc.CancelLicense(ctx, o.ID, o.Undo)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, l, func(w io.Writer) error {
		end := "its period ends"
		if l.ExpiresAt != nil {
			end = l.ExpiresAt.Format(time.RFC3339)
		}
		if o.Undo {
			_, err := fmt.Fprintf(w, "Resumed %s: it renews on %s\n", l.Key, end)
			return err
		}
		_, err := fmt.Fprintf(w, "Cancelled %s: it will not renew and stays valid until %s\n(undo with `licensectl licenses cancel %s --undo`)\n", l.Key, end, l.Key)
		return err
	})
}

func newMaintenanceCancelCmd(f *Factory, runF func(*cancelOptions) error) *cobra.Command {
	o := &cancelOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "cancel MAINTENANCE_ID [--undo]",
		Short: "Cancel a maintenance plan's renewals; it lasts until its end",
		Long: `Cancel a maintenance plan: it no longer renews every year, and lasts until
the end already paid for. --undo resumes the renewals while the plan lasts.`,
		Example: `  licensectl maintenance cancel M-7K3D9QX2M1AB
  licensectl maintenance cancel M-7K3D9QX2M1AB --undo`,
		Args: exactArgs(1, "a maintenance plan id"),
		RunE: func(c *cobra.Command, args []string) error {
			o.ID = args[0]
			if runF != nil {
				return runF(o)
			}
			return maintenanceCancelRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Undo, "undo", false, "resume the renewals while the plan lasts")
	return c
}

func maintenanceCancelRun(ctx context.Context, o *cancelOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	m, err := svc.CancelMaintenance(ctx, o.ID, o.Undo)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, m, func(w io.Writer) error {
		end := "its end"
		if m.EndsAt != nil {
			end = m.EndsAt.Format(time.RFC3339)
		}
		if o.Undo {
			_, err := fmt.Fprintf(w, "Resumed %s: it renews on %s\n", m.ID, end)
			return err
		}
		_, err := fmt.Fprintf(w, "Cancelled %s: it will not renew and lasts until %s\n", m.ID, end)
		return err
	})
}
