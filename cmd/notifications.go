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

func newNotificationsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "notifications", Short: "Reminder emails: expiring maintenance, ending trials, failed renewals"}
	cmd.AddCommand(newNotificationsShowCmd(f, nil), newNotificationsSetCmd(f, nil))
	return cmd
}

type notificationsOptions struct {
	env
	Update *licensing.NotificationUpdate // nil: show
}

func newNotificationsShowCmd(f *Factory, runF func(*notificationsOptions) error) *cobra.Command {
	o := &notificationsOptions{env: f.env()}
	return &cobra.Command{
		Use:   "show",
		Short: "Show which reminder emails the acting account gets",
		Long: `Show which reminders the acting account's email gets: maintenance.expiring
(30 and 7 days before a maintenance plan ends), trial.ending (3 days before a
trial ends) and subscription.renewal_failed. Every one is on until set.`,
		Example: "  licensectl notifications show\n  licensectl notifications show -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return notificationsRun(c.Context(), o)
		},
	}
}

func newNotificationsSetCmd(f *Factory, runF func(*notificationsOptions) error) *cobra.Command {
	o := &notificationsOptions{env: f.env()}
	var maint, trial, failed bool
	c := &cobra.Command{
		Use:   "set [--maintenance-expiring=BOOL] [--trial-ending=BOOL] [--renewal-failed=BOOL]",
		Short: "Turn the acting account's reminder emails on or off",
		Long: `Turn reminder emails on or off for the acting account (an operator: the
account of --account). A reminder that is off is not mailed; its event is
still written (see ` + "`licensectl events list`" + `). Flags not given stay as they are.`,
		Example: `  licensectl notifications set --maintenance-expiring=false
  licensectl notifications set --trial-ending=true --renewal-failed=false`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			u := licensing.NotificationUpdate{}
			fl := c.Flags()
			if changed(fl, "maintenance-expiring") {
				u.MaintenanceExpiring = &maint
			}
			if changed(fl, "trial-ending") {
				u.TrialEnding = &trial
			}
			if changed(fl, "renewal-failed") {
				u.RenewalFailed = &failed
			}
			if err := u.Validate(); err != nil {
				return err
			}
			o.Update = &u
			if runF != nil {
				return runF(o)
			}
			return notificationsRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&maint, "maintenance-expiring", true, "mail reminders 30 and 7 days before a maintenance plan ends")
	fl.BoolVar(&trial, "trial-ending", true, "mail a reminder 3 days before a trial ends")
	fl.BoolVar(&failed, "renewal-failed", true, "mail when a renewal charge fails")
	return c
}

func notificationsRun(ctx context.Context, o *notificationsOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	var s *licensing.NotificationSettings
	if o.Update != nil {
		s, err = svc.SetNotifications(ctx, *o.Update)
	} else {
		s, err = svc.Notifications(ctx)
	}
	if err != nil {
		return err
	}
	if o.Update != nil && o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, s, func(w io.Writer) error {
		set := "never (every reminder on)"
		if s.UpdatedAt != nil {
			set = s.UpdatedAt.Format(time.RFC3339)
		}
		onOff := func(b bool) string {
			if b {
				return "on"
			}
			return "off"
		}
		if err := output.KeyValues(w, [][2]string{{"Account", s.Account},
			{"Maintenance expiring", onOff(s.MaintenanceExpiring)}, {"Trial ending", onOff(s.TrialEnding)},
			{"Renewal failed", onOff(s.RenewalFailed)}, {"Set", set}}); err != nil {
			return err
		}
		if o.Update != nil {
			_, err := fmt.Fprintln(w, "\nReminders that are off are not mailed; their events are still written.")
			return err
		}
		return nil
	})
}
