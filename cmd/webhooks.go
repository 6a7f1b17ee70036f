package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newWebhooksCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Send the account's events to your systems as signed webhooks",
		Long: `Webhooks deliver the account's events (licensectl events list) to an HTTPS
endpoint of yours, signed as the Standard Webhooks specification describes
(webhook-id, webhook-timestamp, webhook-signature), so its libraries verify
them. Delivery is at least once, in order per object, retried with backoff
for 3 days; then the endpoint is disabled and the account is mailed.`}
	cmd.AddCommand(newWebhooksCreateCmd(f), newWebhooksListCmd(f), newWebhooksDeleteCmd(f), newWebhooksEnableCmd(f),
		newWebhooksDeliveriesCmd(f), newWebhooksRedeliverCmd(f), newWebhooksTestCmd(f))
	return cmd
}

// webhookID reads a webhook or delivery id argument.
func webhookID(arg, what string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || n <= 0 {
		return 0, licensing.Errorf(licensing.EINVALID, "invalid %s id %q", what, licensing.ClipArg(arg)).
			WithHint("ids are numbers: see `licensectl webhooks list` and `licensectl webhooks deliveries`")
	}
	return n, nil
}

// beginWithID reads an id argument and begins the command.
func beginWithID(ctx context.Context, e env, arg, what string) (licensing.Services, output.Format, context.Context, int64, error) {
	id, err := webhookID(arg, what)
	if err != nil {
		return nil, "", ctx, 0, err
	}
	svc, format, ctx, err := e.begin(ctx)
	return svc, format, ctx, id, err
}

func webhookColumns() []output.Column[licensing.Webhook] {
	type W = licensing.Webhook
	return []output.Column[W]{
		{Header: "ID", Keep: true, Value: func(w W) string { return strconv.FormatInt(w.ID, 10) }},
		{Header: "URL", Keep: true, Value: func(w W) string { return w.URL }},
		{Header: "EVENTS", Priority: 3, Value: func(w W) string { return strings.Join(w.Events, ",") }},
		{Header: "STATE", Priority: 4, Value: func(w W) string {
			if w.Disabled {
				return "disabled"
			}
			return "enabled"
		}},
		{Header: "DESCRIPTION", Priority: 1, Value: func(w W) string { return orDash(w.Description) }},
		{Header: "CREATED", Priority: 2, Whole: true, Value: func(w W) string { return w.CreatedAt.Format(dateTimeLayout) }},
		{Header: "DISABLED REASON", Field: "disabled_reason", Wide: true, Value: func(w W) string { return orDash(w.DisabledReason) }},
	}
}

func newWebhooksCreateCmd(f *Factory) *cobra.Command {
	e := f.env()
	var req licensing.WebhookCreate
	var events string
	c := &cobra.Command{
		Use:   "create URL --events T1,T2|'*' [--description D]",
		Short: "Add an endpoint; its signing secret is shown once",
		Long: `Add an endpoint that receives the account's events of the given types from
now on. --events takes event types (license.revoked), prefixes ending in a
dot (license.) or '*' for all; ` + "`licensectl events list`" + ` shows what they look
like. The signing secret (whsec_...) is shown once: the receiver verifies
each message with it.

A URL whose host resolves to a loopback, private, link-local or metadata
address is refused unless the server sets webhooks.allow_private.`,
		Example: `  licensectl webhooks create https://crm.example.com/hooks/licensectl --events license.,purchase.created
  licensectl webhooks create https://example.com/all --events '*' --description "everything" -o json | jq -r .secret`,
		Args: exactArgs(1, "the endpoint's URL"),
		RunE: func(c *cobra.Command, args []string) error {
			req.URL, req.Events = args[0], []string{events}
			if err := req.Normalize(); err != nil {
				return err
			}
			svc, format, ctx, err := e.begin(c.Context())
			if err != nil {
				return err
			}
			w, err := svc.CreateWebhook(ctx, req)
			if err != nil {
				return err
			}
			return output.Object(e.IO.Out, format, w, func(out io.Writer) error {
				if _, err := fmt.Fprintf(out, "%s\n\n", w.Secret); err != nil {
					return err
				}
				if err := output.KeyValues(out, [][2]string{{"ID", strconv.FormatInt(w.ID, 10)}, {"URL", w.URL},
					{"Events", strings.Join(w.Events, ",")}, {"Description", orDash(w.Description)}}); err != nil {
					return err
				}
				_, err := fmt.Fprintf(out, "\nThis is the only time the signing secret is shown: store it with the receiver.\nTry it: licensectl webhooks test %d\n", w.ID)
				return err
			})
		},
	}
	c.Flags().StringVar(&events, "events", "", "comma-separated event `TYPES`, prefixes (license.) or '*'")
	c.Flags().StringVar(&req.Description, "description", "", "what the endpoint is for")
	return c
}

func newWebhooksListCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:     "list",
		Short:   "List the account's endpoints",
		Example: "  licensectl webhooks list\n  licensectl webhooks list -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, ctx, err := e.begin(c.Context())
			if err != nil {
				return err
			}
			ws, err := svc.ListWebhooks(ctx)
			if err != nil {
				return err
			}
			return writeSlice(e, format, webhookColumns(), ws, "No webhooks — add one with `licensectl webhooks create URL --events '*'`")
		},
	}
}

func newWebhooksDeleteCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:     "delete ID",
		Short:   "Delete an endpoint and its deliveries",
		Example: "  licensectl webhooks delete 3",
		Args:    exactArgs(1, "a webhook id"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, ctx, id, err := beginWithID(c.Context(), e, args[0], "webhook")
			if err != nil {
				return err
			}
			if err := svc.DeleteWebhook(ctx, id); err != nil {
				return err
			}
			return output.Object(e.IO.Out, format, map[string]any{"id": id, "deleted": true}, func(out io.Writer) error {
				if e.quiet() {
					return nil
				}
				_, err := fmt.Fprintf(out, "Deleted webhook %d\n", id)
				return err
			})
		},
	}
}

func newWebhooksEnableCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:   "enable ID",
		Short: "Turn a disabled endpoint back on",
		Long: `Turn an endpoint that was disabled (it failed for the retry period) back
on: deliveries waiting for it resume, and events recorded meanwhile are
delivered. Deliveries that were given up stay failed until redelivered.`,
		Example: "  licensectl webhooks enable 3",
		Args:    exactArgs(1, "a webhook id"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, ctx, id, err := beginWithID(c.Context(), e, args[0], "webhook")
			if err != nil {
				return err
			}
			w, err := svc.EnableWebhook(ctx, id)
			if err != nil {
				return err
			}
			return output.Object(e.IO.Out, format, w, func(out io.Writer) error {
				_, err := fmt.Fprintf(out, "Webhook %d is enabled: %s\n", w.ID, w.URL)
				return err
			})
		},
	}
}

func deliveryColumns() []output.Column[licensing.WebhookDelivery] {
	type D = licensing.WebhookDelivery
	return []output.Column[D]{
		{Header: "ID", Keep: true, Value: func(d D) string { return strconv.FormatInt(d.ID, 10) }},
		{Header: "WEBHOOK", Priority: 2, Value: func(d D) string { return strconv.FormatInt(d.Webhook, 10) }},
		{Header: "EVENT", Priority: 3, Value: func(d D) string { return strconv.FormatInt(d.Event, 10) }},
		{Header: "TYPE", Keep: true, Value: func(d D) string { return d.Type }},
		{Header: "STATUS", Keep: true, Value: func(d D) string { return d.Status }},
		{Header: "ATTEMPTS", Field: "attempts", Priority: 5, Value: func(d D) string { return strconv.Itoa(d.Attempts) }},
		{Header: "LAST", Field: "last_code", Priority: 4, Value: func(d D) string {
			switch {
			case d.Attempts == 0:
				return "-"
			case d.LastCode != 0:
				return fmt.Sprintf("HTTP %d in %d ms", d.LastCode, d.LatencyMS)
			}
			return d.LastError
		}},
		{Header: "NEXT ATTEMPT", Field: "next_attempt_at", Priority: 1, Whole: true, Value: func(d D) string {
			if d.NextAttemptAt == nil {
				return "-"
			}
			return d.NextAttemptAt.Local().Format(time.DateTime)
		}},
		{Header: "OBJECT", Wide: true, Value: func(d D) string { return d.Object }},
	}
}

func newWebhooksDeliveriesCmd(f *Factory) *cobra.Command {
	e := f.env()
	var fl licensing.DeliveryFilter
	c := &cobra.Command{
		Use:   "deliveries [ID] [--failed]",
		Short: "List deliveries of events to the endpoints, newest first",
		Long: `List deliveries, newest first: every endpoint's, or one's (ID). Each shows
its event, its status (pending, delivered, failed), its attempts and how the
last one went (HTTP status and time, or why there was no answer). --failed
shows those given up and those still being retried.`,
		Example: `  licensectl webhooks deliveries
  licensectl webhooks deliveries 3 --failed
  licensectl webhooks deliveries -o json --jq '.[] | select(.status == "failed") | .id'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				id, err := webhookID(args[0], "webhook")
				if err != nil {
					return err
				}
				fl.Webhook = id
			}
			if err := fl.Normalize(); err != nil {
				return err
			}
			svc, format, ctx, err := e.begin(c.Context())
			if err != nil {
				return err
			}
			ds, err := svc.ListDeliveries(ctx, fl)
			if err != nil {
				return err
			}
			empty := "No deliveries yet"
			if fl.Failed {
				empty = "No failed deliveries"
			}
			return writeSlice(e, format, deliveryColumns(), ds, empty)
		},
	}
	c.Flags().BoolVar(&fl.Failed, "failed", false, "only deliveries given up or being retried")
	c.Flags().IntVar(&fl.Limit, "limit", 100, "at most this many")
	return c
}

func newWebhooksRedeliverCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:     "redeliver DELIVERY_ID",
		Short:   "Send a delivery again (with the same webhook-id)",
		Example: "  licensectl webhooks redeliver 1234",
		Args:    exactArgs(1, "a delivery id"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, ctx, id, err := beginWithID(c.Context(), e, args[0], "delivery")
			if err != nil {
				return err
			}
			d, err := svc.Redeliver(ctx, id)
			if err != nil {
				return err
			}
			return output.Object(e.IO.Out, format, d, func(out io.Writer) error {
				_, err := fmt.Fprintf(out, "Delivery %d (event %d, %s) is queued again\n", d.ID, d.Event, d.Type)
				return err
			})
		},
	}
}

func newWebhooksTestCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:   "test ID",
		Short: "Send a signed webhook.test message to an endpoint now",
		Long: `Send a signed webhook.test message to the endpoint now and say how it
answered. No event is recorded. Exits 1 when the endpoint did not answer 2xx.`,
		Example: "  licensectl webhooks test 3",
		Args:    exactArgs(1, "a webhook id"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, ctx, id, err := beginWithID(c.Context(), e, args[0], "webhook")
			if err != nil {
				return err
			}
			t, err := svc.TestWebhook(ctx, id)
			if err != nil {
				return err
			}
			if err := output.Object(e.IO.Out, format, t, func(out io.Writer) error {
				if t.OK {
					_, err := fmt.Fprintf(out, "%s answered HTTP %d in %d ms\n", t.URL, t.Code, t.LatencyMS)
					return err
				}
				return nil
			}); err != nil {
				return err
			}
			if !t.OK {
				why := t.Error
				if t.Code != 0 {
					why = fmt.Sprintf("HTTP %d", t.Code)
				}
				return licensing.Errorf(licensing.ECONFLICT, "the endpoint %s did not accept the test message: %s", t.URL, why).
					WithHint("a receiver answers 2xx once it has verified the signature")
			}
			return nil
		},
	}
}

// dispatcher is what `events dispatch` needs of the local store.
type dispatcher interface {
	DispatchWebhooks(ctx context.Context, o app.DispatchOptions) (*licensing.DispatchRun, error)
}

// dispatchOptions are the dispatcher's settings from the config.
func dispatchOptions(c *Config) app.DispatchOptions {
	w := c.Webhooks
	return app.DispatchOptions{RetryFor: w.RetryFor, Backoff: w.Backoff, Lease: 2*w.Timeout + 5*time.Second}
}

func newEventsDispatchCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:   "dispatch",
		Short: "Deliver the local store's due webhooks now",
		Long: `Deliver webhooks of the local store now: new events become deliveries, and
every delivery that is due is sent; retries not yet due are left for the
next run (run it from cron, or use ` + "`licensectl serve`" + `, which dispatches all
the time). A server's backend needs none of this: the server delivers.`,
		Example: "  licensectl events dispatch\n  licensectl events dispatch -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, ctx, err := e.begin(c.Context())
			if err != nil {
				return err
			}
			d, ok := svc.(dispatcher)
			if !ok {
				return licensing.Errorf(licensing.EINVALID, "events dispatch runs on the local store; the server delivers its webhooks itself").
					WithHint("see what it did with `licensectl webhooks deliveries`")
			}
			run, err := d.DispatchWebhooks(ctx, dispatchOptions(e.Config()))
			if err != nil {
				return err
			}
			return output.Object(e.IO.Out, format, run, func(out io.Writer) error {
				if e.quiet() {
					return nil
				}
				_, err := fmt.Fprintf(out, "Queued %d, delivered %d, failed %d (gave up %d); %d pending\n",
					run.Queued, run.Delivered, run.Failed, run.GaveUp, run.Pending)
				return err
			})
		},
	}
}
