package postgres

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// InsertAttachRequest implements app.AttachTx.
func (t *tx) InsertAttachRequest(ctx context.Context, r app.NewAttachRequest) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `INSERT INTO attach_requests (account_id, purchase_id, license_key, sent_to,
			code_hash, requested_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		r.AccountID, r.Target.PurchaseID, nullString(r.Target.Key), r.Target.Email, r.Hash, r.RequestedAt.Unix(), r.ExpiresAt.Unix()).Scan(&id)
	return id, err
}

// AttachRequests implements app.AttachTx. ForUpdate locks the rows:
// confirmations of one account queue up, and each sees the attempts and
// states the one before it left.
func (t *tx) AttachRequests(ctx context.Context, acct int64, since time.Time, lock app.Lock) ([]app.AttachRequestRow, error) {
	query := `SELECT id, purchase_id, coalesce(license_key, ''), sent_to, code_hash, expires_at,
			coalesce(closed_at, 0), state, attempts
		FROM attach_requests WHERE account_id = $1 AND requested_at > $2 ORDER BY id`
	if lock {
		query += " FOR UPDATE"
	}
	rows, err := t.query(ctx, query, acct, since.Unix())
	return all(rows, err, app.ScanAttachRequest)
}
