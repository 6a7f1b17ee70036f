package app

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.AuditService = (*App)(nil)

// defaultAuditLimit bounds an audit listing that names no limit.
const defaultAuditLimit = 100

// AuditCond is a condition on audit events.
type AuditCond int

// The conditions of an audit query.
const (
	AuditOfAccount   AuditCond = iota // filed under the account (an id)
	AuditAction                       // of exactly this action
	AuditActionRange                  // of an action from Args[0] (included) to Args[1] (excluded)
	AuditObject                       // about this object
	AuditSince                        // at or after a time (Unix seconds)
	AuditConds                        // the number of conditions
)

// AuditQuery selects audit events: those matching every condition, newest
// first (by id), at most Limit.
type AuditQuery struct {
	Where []Where[AuditCond]
	Limit int
}

// AuditReadTx is what listing the audit log needs of a transaction.
type AuditReadTx interface {
	AuditEvents(ctx context.Context, q *AuditQuery) ([]licensing.AuditEvent, error)
}

// ScanAuditEvent reads a row of columns id, time, actor, on_behalf_of
// (nullable), action, object,
// details (JSON text).
func ScanAuditEvent(sc Scanner) (*licensing.AuditEvent, error) {
	var e licensing.AuditEvent
	var at int64
	var details string
	if err := sc.Scan(&e.ID, &at, &e.Actor, &e.OnBehalfOf, &e.Action, &e.Object, &details); err != nil {
		return nil, err
	}
	e.Details = json.RawMessage(details)
	e.Time = Unix(at)
	return &e, nil
}

// ListAudit returns the acting account's audit events, newest first. An
// action ending in "." ("purchase.") selects every action under it.
func (a *App) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	if f.Limit < 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "limit must not be negative")
	}
	if f.Limit == 0 {
		f.Limit = defaultAuditLimit
	}
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.AuditEvent, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		q := &AuditQuery{Where: []Where[AuditCond]{{AuditOfAccount, []any{acct.id}}}, Limit: f.Limit}
		switch {
		case strings.HasSuffix(f.Action, "."):
			// A range rather than LIKE, so the (account_id, action) index
			// serves it; '/' is the character after '.'.
			q.Where = append(q.Where, Where[AuditCond]{AuditActionRange, []any{f.Action, strings.TrimSuffix(f.Action, ".") + "/"}})
		case f.Action != "":
			q.Where = append(q.Where, Where[AuditCond]{AuditAction, []any{f.Action}})
		}
		if f.Object != "" {
			q.Where = append(q.Where, Where[AuditCond]{AuditObject, []any{f.Object}})
		}
		if f.Since != nil {
			q.Where = append(q.Where, Where[AuditCond]{AuditSince, []any{f.Since.Unix()}})
		}
		return tx.AuditEvents(ctx, q)
	})
}
