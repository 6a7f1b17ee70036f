package sqlq

import (
	"context"
	"strings"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// InsertEvents implements app.EventTx, 200 rows a statement. A value that
// repeats within a statement (the account, the type and the time of a bulk
// purchase's license.created events) is one parameter: SQLite looks each
// distinct $n name up in a list as it parses, so a statement of n distinct
// parameters costs n² comparisons, and one purchase of 100,000 licenses spent
// longer on that than on writing its events.
func (t Tx) InsertEvents(ctx context.Context, rows []app.EventRow) error {
	for start := 0; start < len(rows); start += 200 {
		part := rows[start:min(start+200, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO events (account_id, type, object, created_at, data) VALUES ")
		args := make([]any, 0, 2*len(part)+8)
		shared := map[any]string{}
		param := func(v any, share bool) string {
			if share {
				if m, ok := shared[v]; ok {
					return m
				}
			}
			args = append(args, v)
			m := mark(len(args))
			if share {
				shared[v] = m
			}
			return m
		}
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + param(r.AccountID, true) + ", " + param(r.Type, true) + ", " + param(r.Object, false) + ", " +
				param(r.Time.Unix(), true) + ", " + param(string(r.Data), false) + ")")
		}
		if _, err := t.exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// ListEvents implements app.EventTx.
func (t Tx) ListEvents(ctx context.Context, acct int64, f licensing.EventFilter) ([]licensing.Event, error) {
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", mark(len(args))))
	}
	if acct != 0 {
		add("e.account_id = ?", acct)
	}
	switch {
	case strings.HasSuffix(f.Type, "."):
		add("e.type >= ?", f.Type)
		add("e.type < ?", strings.TrimSuffix(f.Type, ".")+"/") // '/' sorts right after '.'
	case f.Type != "":
		add("e.type = ?", f.Type)
	}
	if f.Since != nil {
		add("e.created_at >= ?", f.Since.Unix())
	}
	args = append(args, f.Limit)
	rows, err := t.query(ctx, "SELECT "+app.EventColumns+" FROM events e JOIN accounts a ON a.id = e.account_id WHERE "+
		strings.Join(where, " AND ")+" ORDER BY e.id DESC LIMIT "+mark(len(args)), args...)
	return all(rows, err, app.ScanEvent)
}
