package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

// CreateAccount creates an account and, in the same transaction, gives it
// the licenses that were bought for its email while it did not exist. A
// concurrent purchase for that email either commits first (and is attached
// here) or sees the account; SERIALIZABLE rules out the third case.
func (s *Store) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	email, err := licensing.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	a := &licensing.Account{Email: email, CreatedAt: s.now()}
	err = s.write(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM accounts WHERE email = $1", email).Scan(&one)
		if err == nil {
			return licensing.Errorf(licensing.ECONFLICT, "account %s already exists", email)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, "INSERT INTO accounts (email, created_at) VALUES ($1, $2) RETURNING id",
			email, a.CreatedAt.Unix()).Scan(&id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "UPDATE licenses SET account_id = $1 WHERE account_id IS NULL AND purchase_email = $2", id, email)
		if err != nil {
			return err
		}
		a.Attached = int(tag.RowsAffected())
		return audit(ctx, tx, id, a.CreatedAt, actor(ctx), "account.create", email, map[string]any{"attached": a.Attached})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ListAccounts returns every account, by email.
func (s *Store) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	rows, err := s.pool.Query(ctx, "SELECT email, created_at FROM accounts ORDER BY email")
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
// per account regardless of case ("ACME" is "Acme").
func (s *Store) CreateCompany(ctx context.Context, name string) (*licensing.Company, error) {
	name, err := licensing.NormalizeCompanyName(name)
	if err != nil {
		return nil, err
	}
	c := &licensing.Company{Name: name, CreatedAt: s.now()}
	err = s.write(ctx, func(tx pgx.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		var existing string
		err = tx.QueryRow(ctx, `SELECT name FROM companies WHERE account_id = $1 AND name_folded = $2`,
			acct, licensing.FoldName(name)).Scan(&existing)
		if err == nil {
			return licensing.Errorf(licensing.ECONFLICT, "company %q already exists", existing)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO companies (account_id, name, name_folded, created_at) VALUES ($1, $2, $3, $4)",
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
	acct, _, err := actingAccount(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT c.name, c.created_at,
			(SELECT count(*) FROM licenses l WHERE l.account_id = c.account_id AND l.company_id = c.id)
		FROM companies c WHERE c.account_id = $1 ORDER BY c.name_folded, c.id`, acct)
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
