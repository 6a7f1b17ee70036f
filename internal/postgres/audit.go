package postgres

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// auditConds are the SQL of app.AuditQuery's conditions.
var auditConds = [app.AuditConds]string{
	app.AuditOfAccount:   "account_id = %[1]s",
	app.AuditAction:      "action = %[1]s",
	app.AuditActionRange: "action >= %[1]s AND action < %[2]s",
	app.AuditObject:      "object = %[1]s",
	app.AuditSince:       "time >= %[1]s",
}

// AuditEvents implements app.AuditReadTx.
func (t *tx) AuditEvents(ctx context.Context, q *app.AuditQuery) ([]licensing.AuditEvent, error) {
	where, args := app.RenderWhere(auditConds[:], q.Where, nil, mark)
	rows, err := t.query(ctx, "SELECT id, time, actor, action, object, details FROM audit WHERE "+where+
		" ORDER BY id DESC LIMIT "+mark(len(args)+1), append(args, q.Limit)...)
	return all(rows, err, app.ScanAuditEvent)
}
