package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/licensectl/licensectl/internal/licensing"
)

// CreateAccount creates an account and, in the same transaction, gives it
// the licenses that were bought for its email while it did not exist.
func (s *Store) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	email, err := licensing.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	a := &licensing.Account{Email: email, CreatedAt: s.now()}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM accounts WHERE email = ?", email).Scan(&one)
		if err == nil {
			return licensing.Errorf(licensing.ECONFLICT, "account %s already exists", email)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO accounts (email, created_at) VALUES (?, ?)", email, a.CreatedAt.Unix())
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, "UPDATE licenses SET account_id = ? WHERE account_id IS NULL AND purchase_email = ?", id, email)
		if err != nil {
			return err
		}
		attached, err := res.RowsAffected()
		if err != nil {
			return err
		}
		a.Attached = int(attached)
		return audit(ctx, tx, id, a.CreatedAt, actor(ctx), "account.create", email, map[string]any{"attached": a.Attached})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ListAccounts returns every account, by email.
func (s *Store) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT email, created_at FROM accounts ORDER BY email")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.Account{}
	for rows.Next() {
		var a licensing.Account
		var created int64
		if err := rows.Scan(&a.Email, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = unixTime(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateCompany adds a client company to the acting account. Names are unique
// per account in their folded form (licensing.FoldName: "ZÜRICH AG" is
// "Zürich AG").
func (s *Store) CreateCompany(ctx context.Context, name string) (*licensing.Company, error) {
	name, err := licensing.NormalizeCompanyName(name)
	if err != nil {
		return nil, err
	}
	c := &licensing.Company{Name: name, CreatedAt: s.now()}
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		var existing string
		err = tx.QueryRowContext(ctx, "SELECT name FROM companies WHERE account_id = ? AND name_folded = ?", acct,
			licensing.FoldName(name)).Scan(&existing)
		if err == nil {
			return licensing.Errorf(licensing.ECONFLICT, "company %q already exists", existing)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO companies (account_id, name, name_folded, created_at) VALUES (?, ?, ?, ?)",
			acct, name, licensing.FoldName(name), c.CreatedAt.Unix()); err != nil {
			return err
		}
		return audit(ctx, tx, acct, c.CreatedAt, email, "company.create", name, struct{}{})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListCompanies returns the acting account's companies by folded name, each
// with the number of licenses matched to it.
func (s *Store) ListCompanies(ctx context.Context) ([]licensing.Company, error) {
	acct, _, err := actingAccount(ctx, s.r)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.name, c.created_at,
			(SELECT count(*) FROM licenses l WHERE l.account_id = c.account_id AND l.company_id = c.id)
		FROM companies c WHERE c.account_id = ? ORDER BY c.name_folded, c.id`, acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.Company{}
	for rows.Next() {
		var c licensing.Company
		var created int64
		if err := rows.Scan(&c.Name, &created, &c.Licenses); err != nil {
			return nil, err
		}
		c.CreatedAt = unixTime(created)
		out = append(out, c)
	}
	return out, rows.Err()
}
