package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// ExpiringPlans implements app.NoticeTx.
func (t Tx) ExpiringPlans(ctx context.Context, acct int64, asOf time.Time, before time.Duration) ([]app.ExpiringPlan, error) {
	rows, err := t.query(ctx, `SELECT `+app.PlanColumns+`, l.account_id, a.email
		FROM maintenance_plans m JOIN licenses l ON l.id = m.license_id JOIN accounts a ON a.id = l.account_id
		WHERE m.license_id IS NOT NULL AND m.ends_at > $1 AND m.ends_at <= $2 AND (CAST($3 AS BIGINT) IS NULL OR l.account_id = $3)
			AND l.revoked_at IS NULL AND m.refund_id IS NULL
			AND NOT EXISTS (SELECT 1 FROM maintenance_plans n WHERE n.license_id = m.license_id AND n.id <> m.id AND n.starts_at >= m.ends_at)
			AND NOT EXISTS (SELECT 1 FROM notices x WHERE x.type = $4 AND x.object = m.id AND x.due_at = m.ends_at - $5)
		ORDER BY m.ends_at, m.id`, asOf.Unix(), asOf.Add(before).Unix(), nullID(acct), licensing.EventMaintenanceExpiring,
		int64(before/time.Second))
	return all(rows, err, app.ScanExpiringPlan)
}

// EndingTrials implements app.NoticeTx.
func (t Tx) EndingTrials(ctx context.Context, acct int64, asOf time.Time, before time.Duration) ([]app.EndingTrial, error) {
	rows, err := t.query(ctx, `SELECT `+t.d.LicenseColumns+`, l.account_id, a.email`+LicenseFrom+`
		JOIN accounts a ON a.id = l.account_id
		WHERE l.kind = 'trial' AND l.expires_at > $1 AND l.expires_at <= $2 AND (CAST($3 AS BIGINT) IS NULL OR l.account_id = $3)
			AND l.revoked_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM notices x WHERE x.type = $4 AND x.object = l.key AND x.due_at = l.expires_at - $5)
		ORDER BY l.expires_at, l.id`, asOf.Unix(), asOf.Add(before).Unix(), nullID(acct), licensing.EventTrialEnding,
		int64(before/time.Second))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	scan := t.d.LicenseScanner()
	out := []app.EndingTrial{}
	for rows.Next() {
		var r app.EndingTrial
		l, err := scan(rows, &r.AccountID, &r.Account)
		if err != nil {
			return nil, err
		}
		l.Derive(asOf)
		r.License = *l
		out = append(out, r)
	}
	return out, rows.Err()
}

// InsertNotices implements app.NoticeTx, 200 rows a statement.
func (t Tx) InsertNotices(ctx context.Context, rows []app.NoticeRow) error {
	return insertRows(ctx, t, "INSERT INTO notices (type, object, due_at, account_id, created_at) VALUES ", "", rows,
		func(r app.NoticeRow) []any {
			return []any{r.Type, r.Object, r.DueAt.Unix(), r.AccountID, r.CreatedAt.Unix()}
		})
}

// NotificationSettings implements app.NoticeTx.
func (t Tx) NotificationSettings(ctx context.Context, acct int64) (*licensing.NotificationSettings, error) {
	return one(t, t.queryRow(ctx, `SELECT maintenance_expiring, trial_ending, renewal_failed, updated_at
		FROM notification_settings WHERE account_id = $1`, acct), app.ScanNotificationSettings)
}

// SetNotificationSettings implements app.NoticeTx.
func (t Tx) SetNotificationSettings(ctx context.Context, acct int64, s licensing.NotificationSettings) error {
	var at int64
	if s.UpdatedAt != nil {
		at = s.UpdatedAt.Unix()
	}
	_, err := t.exec(ctx, `INSERT INTO notification_settings (account_id, maintenance_expiring, trial_ending, renewal_failed, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id) DO UPDATE SET maintenance_expiring = excluded.maintenance_expiring,
			trial_ending = excluded.trial_ending, renewal_failed = excluded.renewal_failed, updated_at = excluded.updated_at`,
		acct, s.MaintenanceExpiring, s.TrialEnding, s.RenewalFailed, at)
	return err
}
