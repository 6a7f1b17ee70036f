package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

const (
	dateLayout     = "2006-01-02"
	dateTimeLayout = "2006-01-02 15:04"
)

func newAuditCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log"}
	cmd.AddCommand(newAuditListCmd(f, nil))
	return cmd
}

type auditListOptions struct {
	env
	Filter licensing.AuditFilter
	Since  string
	// Filtered: a filter other than --limit was given, for the empty note.
	Filtered bool
}

func newAuditListCmd(f *Factory, runF func(*auditListOptions) error) *cobra.Command {
	o := &auditListOptions{env: f.env()}
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events of the acting account, newest first",
		Example: `  licensectl audit list --action purchase.
  licensectl audit list --object P-7K3D9QX2M1AB -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			since, err := parseSince(o.Since)
			if err != nil {
				return err
			}
			o.Filter.Since = since
			if o.Filter.Limit < 0 {
				return licensing.Errorf(licensing.EINVALID, "--limit must not be negative")
			}
			o.Filtered = filtered(c, "limit")
			if runF != nil {
				return runF(o)
			}
			return auditListRun(c.Context(), o)
		},
	}
	fl := list.Flags()
	fl.StringVar(&o.Filter.Action, "action", "", "only this action (a trailing dot matches a prefix: purchase.)")
	fl.StringVar(&o.Filter.Object, "object", "", "only events about this object (key, purchase id, company)")
	fl.StringVar(&o.Since, "since", "", "only events at or after this time (RFC 3339 or YYYY-MM-DD)")
	fl.IntVar(&o.Filter.Limit, "limit", 100, "at most this many events")
	return list
}

func auditListRun(ctx context.Context, o *auditListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	events, err := svc.ListAudit(ctx, o.Filter)
	if err != nil {
		return err
	}
	empty := "No audit events yet"
	if o.Filtered {
		empty = "No audit events match these filters"
	}
	return writeSlice(o.env, format, []output.Column[licensing.AuditEvent]{
		{Header: "TIME", Keep: true, Value: func(e licensing.AuditEvent) string { return e.Time.Format(time.RFC3339) }},
		{Header: "ACTOR", Priority: 1, Value: func(e licensing.AuditEvent) string { return e.Actor }},
		{Header: "ON BEHALF OF", Wide: true, Value: func(e licensing.AuditEvent) string { return orDash(deref(e.OnBehalfOf)) }, CSV: func(e licensing.AuditEvent) string { return deref(e.OnBehalfOf) }},
		{Header: "ACTION", Keep: true, Value: func(e licensing.AuditEvent) string { return e.Action }},
		{Header: "OBJECT", Priority: 9, Min: 29, Value: func(e licensing.AuditEvent) string { return e.Object }},
		{Header: "DETAILS", Wide: true, Value: func(e licensing.AuditEvent) string { return string(e.Details) }},
	}, events, empty)
}

// parseSince reads an optional --since: nil when it is empty.
func parseSince(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, dateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, licensing.Errorf(licensing.EINVALID, "invalid time %q: want RFC 3339 or YYYY-MM-DD", s)
}
