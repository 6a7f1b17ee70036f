package sqlite

import (
	"context"
	"time"
)

// InsertAccount implements app.DirectoryTx.
func (t *tx) InsertAccount(ctx context.Context, email string, at time.Time) (int64, error) {
	res, err := t.exec(ctx, "INSERT INTO accounts (email, created_at) VALUES (?, ?)", email, at.Unix())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// ClaimLicenses implements app.DirectoryTx.
func (t *tx) ClaimLicenses(ctx context.Context, acct int64, email string) (int, error) {
	res, err := t.exec(ctx, "UPDATE licenses SET account_id = ? WHERE account_id IS NULL AND purchase_email = ?", acct, email)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
