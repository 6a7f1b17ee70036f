package sqlite

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

// AuditEvents implements app.AuditReadTx.
func (t *tx) AuditEvents(ctx context.Context, q *app.AuditQuery) ([]licensing.AuditEvent, error) {
	where, args := app.RenderWhere(sqlq.AuditConds(), q.Where, nil, mark)
	rows, err := t.query(ctx, sqlq.AuditSelect+where+
		" ORDER BY id DESC LIMIT "+mark(len(args)+1), append(args, q.Limit)...)
	return all(rows, err, app.ScanAuditEvent)
}
