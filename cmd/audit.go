package cmd

import (
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
	var filter licensing.AuditFilter
	var since string
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events of the acting account, newest first",
		Example: `  licensectl audit list --action purchase.
  licensectl audit list --object P-7K3D9QX2M1AB -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if since != "" {
				t, err := parseTime(since)
				if err != nil {
					return err
				}
				filter.Since = &t
			}
			if filter.Limit < 0 {
				return licensing.Errorf(licensing.EINVALID, "--limit must not be negative")
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			events, err := svc.ListAudit(c.Context(), filter)
			if err != nil {
				return err
			}
			empty := "No audit events yet"
			if filtered(c, "limit") {
				empty = "No audit events match these filters"
			}
			return writeSlice(f, format, []output.Column[licensing.AuditEvent]{
				{Header: "TIME", Keep: true, Value: func(e licensing.AuditEvent) string { return e.Time.Format(time.RFC3339) }},
				{Header: "ACTOR", Priority: 1, Value: func(e licensing.AuditEvent) string { return e.Actor }},
				{Header: "ACTION", Keep: true, Value: func(e licensing.AuditEvent) string { return e.Action }},
				{Header: "OBJECT", Priority: 9, Min: 29, Value: func(e licensing.AuditEvent) string { return e.Object }},
				{Header: "DETAILS", Wide: true, Value: func(e licensing.AuditEvent) string { return string(e.Details) }},
			}, events, empty)
		},
	}
	fl := list.Flags()
	fl.StringVar(&filter.Action, "action", "", "only this action (a trailing dot matches a prefix: purchase.)")
	fl.StringVar(&filter.Object, "object", "", "only events about this object (key, purchase id, company)")
	fl.StringVar(&since, "since", "", "only events at or after this time (RFC 3339 or YYYY-MM-DD)")
	fl.IntVar(&filter.Limit, "limit", 100, "at most this many events")
	cmd.AddCommand(list)
	return cmd
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
