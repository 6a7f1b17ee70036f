package sqlite

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
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

// Accounts implements app.DirectoryTx.
func (t *tx) Accounts(ctx context.Context) ([]licensing.Account, error) {
	rows, err := t.query(ctx, "SELECT email, created_at FROM accounts ORDER BY email")
	return all(rows, err, app.ScanAccount)
}

// InsertCompany implements app.DirectoryTx.
func (t *tx) InsertCompany(ctx context.Context, acct int64, name, folded string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO companies (account_id, name, name_folded, created_at) VALUES (?, ?, ?, ?)",
		acct, name, folded, at.Unix())
	return err
}

// Companies implements app.DirectoryTx.
func (t *tx) Companies(ctx context.Context, acct int64) ([]licensing.Company, error) {
	rows, err := t.query(ctx, `SELECT c.name, c.created_at,
			(SELECT count(*) FROM licenses l WHERE l.account_id = c.account_id AND l.company_id = c.id)
		FROM companies c WHERE c.account_id = ? ORDER BY c.name_folded, c.id`, acct)
	return all(rows, err, app.ScanCompany)
}
