package postgres

import (
	"context"
	"time"
)

// InsertAccount implements app.DirectoryTx.
func (t *tx) InsertAccount(ctx context.Context, email string, at time.Time) (int64, error) {
	var id int64
	err := t.queryRow(ctx, "INSERT INTO accounts (email, created_at) VALUES ($1, $2) RETURNING id", email, at.Unix()).Scan(&id)
	return id, err
}

// ClaimLicenses implements app.DirectoryTx. A concurrent purchase for the
// email either commits first (and is claimed here) or sees the account;
// SERIALIZABLE rules out the third case.
func (t *tx) ClaimLicenses(ctx context.Context, acct int64, email string) (int, error) {
	tag, err := t.exec(ctx, "UPDATE licenses SET account_id = $1 WHERE account_id IS NULL AND purchase_email = $2", acct, email)
	return int(tag.RowsAffected()), err
}
