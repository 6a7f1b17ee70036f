package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// DueLicenses implements app.RenewalTx.
func (t Tx) DueLicenses(ctx context.Context, acct int64, until time.Time) ([]app.DueRow, error) {
	rows, err := t.query(ctx, `SELECT `+app.DueLicenseColumns+`
		FROM licenses l JOIN accounts a ON a.id = l.account_id
		WHERE l.expires_at IS NOT NULL AND l.expires_at <= $1 AND (CAST($2 AS BIGINT) IS NULL OR l.account_id = $2)
			AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.kind = `+app.DueLicenseKind+`
				AND r.object = l.key AND r.due_at = l.expires_at)
		ORDER BY l.expires_at, l.id`, until.Unix(), nullID(acct))
	return all(rows, err, app.ScanDueLicense)
}

// DuePlans implements app.RenewalTx.
func (t Tx) DuePlans(ctx context.Context, acct int64, until time.Time) ([]app.DueRow, error) {
	rows, err := t.query(ctx, `SELECT `+app.DuePlanColumns+`
		FROM maintenance_plans m JOIN licenses l ON l.id = m.license_id JOIN accounts a ON a.id = l.account_id
		WHERE m.license_id IS NOT NULL AND m.ends_at <= $1 AND (CAST($2 AS BIGINT) IS NULL OR l.account_id = $2)
			AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.kind = 'maintenance' AND r.object = m.id AND r.due_at = m.ends_at)
		ORDER BY m.ends_at, m.id`, until.Unix(), nullID(acct))
	return all(rows, err, app.ScanDuePlan)
}
