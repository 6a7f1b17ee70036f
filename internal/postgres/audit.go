package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

// defaultAuditLimit bounds an audit listing that names no limit.
const defaultAuditLimit = 100

// ListAudit returns the acting account's audit events, newest first. An
// action ending in "." ("purchase.") selects every action under it.
func (s *Store) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	if f.Limit < 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "limit must not be negative")
	}
	if f.Limit == 0 {
		f.Limit = defaultAuditLimit
	}
	acct, _, err := actingAccount(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	query := "SELECT id, time, actor, action, object, details FROM audit WHERE account_id = $1"
	args := []any{acct}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		// A range rather than LIKE, so the (account_id, action) index serves
		// it; '/' is the character after '.'.
		query += " AND action >= " + arg(f.Action) + " AND action < " + arg(strings.TrimSuffix(f.Action, ".")+"/")
	case f.Action != "":
		query += " AND action = " + arg(f.Action)
	}
	if f.Object != "" {
		query += " AND object = " + arg(f.Object)
	}
	if f.Since != nil {
		query += " AND time >= " + arg(f.Since.Unix())
	}
	query += " ORDER BY id DESC LIMIT " + arg(f.Limit)

	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.AuditEvent{}
	for rows.Next() {
		var e licensing.AuditEvent
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &details); err != nil {
			return nil, err
		}
		e.Details = json.RawMessage(details)
		e.Time = unixTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
