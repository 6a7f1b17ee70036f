package cmd

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newEventsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Read the events every change records (the outbox webhooks deliver)"}
	cmd.AddCommand(newEventsListCmd(f, nil), newEventsTypesCmd(f), newEventsDispatchCmd(f))
	return cmd
}

type eventsListOptions struct {
	env
	Filter   licensing.EventFilter
	Since    string
	Filtered bool
}

func newEventsListCmd(f *Factory, runF func(*eventsListOptions) error) *cobra.Command {
	o := &eventsListOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "list [--type T] [--since DATE]",
		Short: "List events of the acting account, newest first",
		Long: `List the events the acting account's changes recorded, newest first: each
with its type (purchase.created, purchase.refunded, license.created,
license.updated, license.revoked, maintenance.assigned,
maintenance.expiring, maintenance.expired, trial.ending,
subscription.renewed, subscription.renewal_failed, activation.created,
activation.released, activation.lease_expired, attach.requested,
attach.completed) and its object's JSON as the API shows it. Every event is
written in the transaction of its change; the scheduled ones (expiring,
expired, ending) by the renewals engine, once per object and date. The
store host, or an operator's token with the lookup scope acting for no
account, lists every account's.`,
		Example: `  licensectl events list --type license.
  licensectl events list --type purchase.refunded --since 2026-12-01 -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			since, err := parseSince(o.Since)
			if err != nil {
				return err
			}
			o.Filter.Since = since
			if err := o.Filter.Normalize(); err != nil {
				return err
			}
			o.Filtered = filtered(c, "limit")
			if runF != nil {
				return runF(o)
			}
			return eventsListRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Filter.Type, "type", "", "only this type (a trailing dot matches a prefix: license.)")
	fl.StringVar(&o.Since, "since", "", "only events at or after this time (RFC 3339 or YYYY-MM-DD)")
	fl.IntVar(&o.Filter.Limit, "limit", 100, "at most this many events")
	return c
}

func eventsListRun(ctx context.Context, o *eventsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	evs, err := svc.ListEvents(ctx, o.Filter)
	if err != nil {
		return err
	}
	empty := "No events yet"
	if o.Filtered {
		empty = "No events match these filters"
	}
	type E = licensing.Event
	return writeSlice(o.env, format, []output.Column[E]{
		{Header: "ID", Keep: true, Value: func(e E) string { return strconv.FormatInt(e.ID, 10) }},
		{Header: "TIME", Priority: 2, Value: func(e E) string { return e.CreatedAt.Format(time.RFC3339) }},
		{Header: "TYPE", Keep: true, Value: func(e E) string { return e.Type }},
		{Header: "OBJECT", Priority: 1, Value: func(e E) string { return e.Object }},
		{Header: "ACCOUNT", Wide: true, Value: func(e E) string { return e.Account }},
		{Header: "DATA", Wide: true, Value: func(e E) string { return string(e.Data) }},
	}, evs, empty)
}

func newEventsTypesCmd(f *Factory) *cobra.Command {
	e := f.env()
	return &cobra.Command{
		Use:     "types",
		Short:   "List the event types (what webhooks create --events takes)",
		Example: "  licensectl events types\n  licensectl events types -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			format, err := e.format()
			if err != nil {
				return err
			}
			type T = struct {
				Type string `json:"type"`
			}
			var types []T
			for _, t := range licensing.EventTypes() {
				types = append(types, T{t})
			}
			return writeSlice(e, format, []output.Column[T]{{Header: "TYPE", Keep: true, Value: func(t T) string { return t.Type }}}, types, "")
		},
	}
}
