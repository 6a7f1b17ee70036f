package sqlite

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// InsertAttachRequest implements app.AttachTx.
func (t *tx) InsertAttachRequest(ctx context.Context, r app.NewAttachRequest) (int64, error) {
	res, err := t.exec(ctx, `INSERT INTO attach_requests (account_id, purchase_id, license_key, sent_to,
			code_hash, requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.AccountID, r.Target.PurchaseID, nullString(r.Target.Key), r.Target.Email, r.Hash, r.RequestedAt.Unix(), r.ExpiresAt.Unix())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// AttachRequests implements app.AttachTx. SQLite's one writer holds the
// whole store, so lock needs nothing more.
func (t *tx) AttachRequests(ctx context.Context, acct int64, since time.Time, _ app.Lock) ([]app.AttachRequestRow, error) {
	rows, err := t.query(ctx, `SELECT id, purchase_id, ifnull(license_key, ''), sent_to, code_hash, expires_at,
			ifnull(closed_at, 0), state, attempts
		FROM attach_requests WHERE account_id = ? AND requested_at > ? ORDER BY id`, acct, since.Unix())
	return all(rows, err, app.ScanAttachRequest)
}
