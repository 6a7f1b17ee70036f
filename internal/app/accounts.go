package app

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var (
	_ licensing.AccountService = (*App)(nil)
	_ licensing.CompanyService = (*App)(nil)
)

// DirectoryTx is what the account and company use cases need of a
// transaction besides AccountTx's look-ups.
type DirectoryTx interface {
	// InsertAccount adds an account and returns its id.
	InsertAccount(ctx context.Context, email string, at time.Time) (int64, error)
	// ClaimLicenses gives the account the licenses bought for its email that
	// belong to no account, and returns how many.
	ClaimLicenses(ctx context.Context, acct int64, email string) (int, error)
	// Accounts lists every account, by email.
	Accounts(ctx context.Context) ([]licensing.Account, error)
	// InsertCompany adds a company to an account; folded is
	// licensing.FoldName(name).
	InsertCompany(ctx context.Context, acct int64, name, folded string, at time.Time) error
	// Companies lists an account's companies by folded name (then id), each
	// with the number of its licenses.
	Companies(ctx context.Context, acct int64) ([]licensing.Company, error)
}

// AccountColumns are what ScanAccount reads, over accounts.
const AccountColumns = "email, created_at, disabled_at"

// ScanAccount reads a row of AccountColumns.
func ScanAccount(sc Scanner) (*licensing.Account, error) {
	var a licensing.Account
	var created int64
	var disabled *int64
	if err := sc.Scan(&a.Email, &created, &disabled); err != nil {
		return nil, err
	}
	a.CreatedAt, a.DisabledAt = Unix(created), UnixOrNil(disabled)
	return &a, nil
}

// ScanCompany reads a row of columns name, created_at, license count.
func ScanCompany(sc Scanner) (*licensing.Company, error) {
	var c licensing.Company
	var created int64
	if err := sc.Scan(&c.Name, &created, &c.Licenses); err != nil {
		return nil, err
	}
	c.CreatedAt = Unix(created)
	return &c, nil
}

// CreateAccount creates an account and, in the same transaction, gives it
// the licenses that were bought for its email while it did not exist. A
// concurrent purchase for that email either commits first (and is attached
// here) or sees the account.
func (a *App) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	email, err := licensing.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Account, error) {
		if id, err := tx.AccountID(ctx, email); err != nil {
			return nil, err
		} else if id != 0 {
			return nil, licensing.Errorf(licensing.ECONFLICT, "account %s already exists", email)
		}
		id, err := tx.InsertAccount(ctx, email, now)
		if err != nil {
			return nil, err
		}
		acc := &licensing.Account{Email: email, CreatedAt: now}
		if acc.Attached, err = tx.ClaimLicenses(ctx, id, email); err != nil {
			return nil, err
		}
		return acc, audit(ctx, tx, id, now, actor(ctx), "account.create", email, map[string]any{"attached": acc.Attached})
	})
}

// ListAccounts returns every account, by email.
func (a *App) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Account, error) { return tx.Accounts(ctx) })
}

// CreateCompany adds a client company to the acting account. Names are unique
// per account in their folded form (licensing.FoldName: "ZÜRICH AG" is
// "Zürich AG").
func (a *App) CreateCompany(ctx context.Context, name string) (*licensing.Company, error) {
	name, err := licensing.NormalizeCompanyName(name)
	if err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Company, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if id, existing, err := tx.Company(ctx, acct.id, name); err != nil {
			return nil, err
		} else if id != 0 {
			return nil, licensing.Errorf(licensing.ECONFLICT, "company %q already exists", existing)
		}
		if err := tx.InsertCompany(ctx, acct.id, name, licensing.FoldName(name), now); err != nil {
			return nil, err
		}
		return &licensing.Company{Name: name, CreatedAt: now},
			audit(ctx, tx, acct.id, now, acct.email, "company.create", name, struct{}{})
	})
}

// ListCompanies returns the acting account's companies by folded name, each
// with the number of licenses matched to it.
func (a *App) ListCompanies(ctx context.Context) ([]licensing.Company, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Company, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		return tx.Companies(ctx, acct.id)
	})
}
