package sqlq

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// AuditEvents implements app.AuditReadTx.
func (t Tx) AuditEvents(ctx context.Context, q *app.AuditQuery) ([]licensing.AuditEvent, error) {
	where, args := app.RenderWhere(AuditConds(), q.Where, nil, mark)
	rows, err := t.query(ctx, AuditSelect+where+
		" ORDER BY id DESC LIMIT "+mark(len(args)+1), append(args, q.Limit)...)
	return all(rows, err, app.ScanAuditEvent)
}
