package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Accounts implements app.DirectoryTx.
func (t Tx) Accounts(ctx context.Context) ([]licensing.Account, error) {
	rows, err := t.query(ctx, "SELECT email, created_at FROM accounts ORDER BY email")
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
