package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Accounts implements app.DirectoryTx.
func (t Tx) Accounts(ctx context.Context) ([]licensing.Account, error) {
	rows, err := t.query(ctx, "SELECT "+app.AccountColumns+" FROM accounts ORDER BY email")
	return all(rows, err, app.ScanAccount)
}

// Companies implements app.DirectoryTx.
func (t Tx) Companies(ctx context.Context, acct int64) ([]licensing.Company, error) {
	rows, err := t.query(ctx, `SELECT c.name, c.created_at,
			(SELECT count(*) FROM licenses l WHERE l.account_id = c.account_id AND l.company_id = c.id)
		FROM companies c WHERE c.account_id = $1 ORDER BY c.name_folded, c.id`, acct)
	return all(rows, err, app.ScanCompany)
}

// InsertCompany implements app.DirectoryTx.
func (t Tx) InsertCompany(ctx context.Context, acct int64, name, folded string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO companies (account_id, name, name_folded, created_at) VALUES ($1, $2, $3, $4)",
		acct, name, folded, at.Unix())
	return err
}

// ClaimLicenses implements app.DirectoryTx. A concurrent purchase for the
// email either commits first (and is claimed here) or sees the account;
// SERIALIZABLE rules out the third case.
func (t Tx) ClaimLicenses(ctx context.Context, acct int64, email string) (int, error) {
	n, err := t.exec(ctx, "UPDATE licenses SET account_id = $1 WHERE account_id IS NULL AND revoked_at IS NULL AND purchase_email = $2", acct, email)
	return int(n), err
}

// InsertAccount implements app.DirectoryTx.
func (t Tx) InsertAccount(ctx context.Context, email string, at time.Time) (int64, error) {
	var id int64
	err := t.queryRow(ctx, "INSERT INTO accounts (email, created_at) VALUES ($1, $2) RETURNING id", email, at.Unix()).Scan(&id)
	return id, err
}
