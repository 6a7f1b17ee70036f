package app

import (
	"context"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var (
	_ licensing.OperatorService     = (*App)(nil)
	_ licensing.LookupService       = (*App)(nil)
	_ licensing.AccountAdminService = (*App)(nil)
)

// OperatorRecord is an operator as the use cases read it.
type OperatorRecord struct {
	ID int64
	licensing.Operator
}

// OperatorTx is what the operator and account administration use cases
// need of a transaction.
type OperatorTx interface {
	// InsertOperator adds an operator and returns its id.
	InsertOperator(ctx context.Context, name string, at time.Time) (int64, error)
	// OperatorByName reads an operator (Tokens left 0), or nil.
	OperatorByName(ctx context.Context, name string) (*OperatorRecord, error)
	// Operators lists every operator by name, each with the number of its
	// tokens that are neither revoked nor expired at now.
	Operators(ctx context.Context, now time.Time) ([]licensing.Operator, error)
	// SetOperatorDisabled sets an operator's disabled_at (nil: enabled).
	SetOperatorDisabled(ctx context.Context, id int64, at *time.Time) error
	// InsertOperatorToken stores an operator's token (OperatorID set).
	InsertOperatorToken(ctx context.Context, t NewToken) error
	// OperatorTokens lists an operator's tokens, oldest first.
	OperatorTokens(ctx context.Context, operatorID int64) ([]licensing.Token, error)
	// RevokeOperatorToken revokes the live operator token with this prefix
	// and answers its operator's name; "" when there is none.
	RevokeOperatorToken(ctx context.Context, prefix string, at time.Time) (string, error)
	// AccountByEmail reads an account and its id, or (nil, 0).
	AccountByEmail(ctx context.Context, email string) (*licensing.Account, int64, error)
	// SetAccountDisabled sets an account's disabled_at (nil: enabled).
	SetAccountDisabled(ctx context.Context, id int64, at *time.Time) error
}

// LookupTx is what the look-ups across accounts need of a transaction.
type LookupTx interface {
	// LicenseOwner answers the id of the license with this key in any
	// account and its account's email ("" when it has none), or id 0.
	LicenseOwner(ctx context.Context, key string) (int64, int64, string, error)
	// PurchaseBuyer answers the email of the account that made a purchase.
	PurchaseBuyer(ctx context.Context, purchaseID string) (string, error)
	// PurchaseLicenses lists a purchase's licenses, by id, with the account
	// and company each is in now.
	PurchaseLicenses(ctx context.Context, purchaseID string) ([]licensing.PurchaseOwned, error)
}

// operatorByName finds an operator or answers ENOTFOUND.
func operatorByName(ctx context.Context, tx Tx, name string) (*OperatorRecord, error) {
	op, err := tx.OperatorByName(ctx, name)
	if err == nil && op == nil {
		err = licensing.Errorf(licensing.ENOTFOUND, "no operator %q", name).WithHint("see `licensectl operators list`")
	}
	return op, err
}

// CreateOperator adds an operator; it has no token until one is made for it.
func (a *App) CreateOperator(ctx context.Context, name string) (*licensing.Operator, error) {
	name, err := licensing.NormalizeOperatorName(name)
	if err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Operator, error) {
		if op, err := tx.OperatorByName(ctx, name); err != nil {
			return nil, err
		} else if op != nil {
			return nil, licensing.Errorf(licensing.ECONFLICT, "operator %s already exists", name)
		}
		if _, err := tx.InsertOperator(ctx, name, now); err != nil {
			return nil, err
		}
		return &licensing.Operator{Name: name, CreatedAt: now}, audit(ctx, tx, 0, now, actor(ctx), "operator.create", name, struct{}{})
	})
}

// ListOperators lists every operator by name.
func (a *App) ListOperators(ctx context.Context) ([]licensing.Operator, error) {
	return read(ctx, a, func(tx Tx, now time.Time) ([]licensing.Operator, error) { return tx.Operators(ctx, now) })
}

// SetOperatorDisabled disables or enables an operator; a disabled
// operator's tokens are refused from the next request on (within a second
// by other processes: tokenCacheTTL).
func (a *App) SetOperatorDisabled(ctx context.Context, name string, disabled bool) (*licensing.Operator, error) {
	name, err := licensing.NormalizeOperatorName(name)
	if err != nil {
		return nil, err
	}
	defer a.tokens.invalidate()
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Operator, error) {
		op, err := operatorByName(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if p, ok := licensing.PrincipalFrom(ctx); ok && p.Kind == licensing.KindOperator && p.Operator == name && disabled {
			return nil, licensing.Errorf(licensing.EINVALID, "an operator cannot disable itself").
				WithHint("ask another operator, or run it on the server host")
		}
		if (op.DisabledAt != nil) == disabled {
			return &op.Operator, nil // nothing to change
		}
		op.DisabledAt = nil
		action := "operator.enable"
		if disabled {
			op.DisabledAt, action = &now, "operator.disable"
		}
		if err := tx.SetOperatorDisabled(ctx, op.ID, op.DisabledAt); err != nil {
			return nil, err
		}
		return &op.Operator, audit(ctx, tx, 0, now, actor(ctx), action, name, struct{}{})
	})
}

// CreateOperatorToken makes a token for an operator: its secret is
// returned once, only its hash is stored, and over the API its scopes can
// only narrow those of the operator token that asks for it.
func (a *App) CreateOperatorToken(ctx context.Context, name string, req licensing.TokenRequest) (*licensing.Token, error) {
	name, err := licensing.NormalizeOperatorName(name)
	if err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Token, error) {
		op, err := operatorByName(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if op.DisabledAt != nil {
			return nil, licensing.Errorf(licensing.ECONFLICT, "operator %s is disabled", name).
				WithHint("enable it first: licensectl operators enable %s", name)
		}
		row, t, err := newToken(ctx, operatorTokenPrefix, req, now)
		if err != nil {
			return nil, err
		}
		row.OperatorID, t.Operator = op.ID, name
		if err := tx.InsertOperatorToken(ctx, row); err != nil {
			return nil, err
		}
		return t, audit(ctx, tx, 0, now, actor(ctx), "operator.token.create", t.Prefix, tokenDetails(t))
	})
}

// ListOperatorTokens lists an operator's tokens, oldest first.
func (a *App) ListOperatorTokens(ctx context.Context, name string) ([]licensing.Token, error) {
	name, err := licensing.NormalizeOperatorName(name)
	if err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Token, error) {
		op, err := operatorByName(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		ts, err := tx.OperatorTokens(ctx, op.ID)
		for i := range ts {
			ts[i].Operator = name
		}
		return ts, err
	})
}

// RevokeOperatorToken revokes an operator's token by its prefix.
func (a *App) RevokeOperatorToken(ctx context.Context, prefix string) error {
	prefix = strings.TrimSpace(prefix)
	defer a.tokens.invalidate()
	_, err := write(ctx, a, func(tx Tx, now time.Time) (struct{}, error) {
		name, err := tx.RevokeOperatorToken(ctx, prefix, now)
		if err != nil {
			return struct{}{}, err
		}
		if name == "" {
			return struct{}{}, licensing.Errorf(licensing.ENOTFOUND, "no active operator token %q", licensing.ClipArg(prefix)).
				WithHint("see `licensectl operators token list NAME`")
		}
		return struct{}{}, audit(ctx, tx, 0, now, actor(ctx), "operator.token.revoke", prefix, map[string]any{"operator": name})
	})
	return err
}

// SetAccountDisabled disables or enables an account: a disabled account's
// tokens are refused from the next request on (within a second by other
// processes: tokenCacheTTL); its licenses, activations
// and plans stay as they are (validation keeps answering for them).
func (a *App) SetAccountDisabled(ctx context.Context, email string, disabled bool) (*licensing.Account, error) {
	email, err := licensing.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	defer a.tokens.invalidate()
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Account, error) {
		acc, id, err := tx.AccountByEmail(ctx, email)
		if err != nil {
			return nil, err
		}
		if acc == nil {
			return nil, licensing.Errorf(licensing.ENOTFOUND, "no account %s", email).WithHint("see `licensectl accounts list`")
		}
		if (acc.DisabledAt != nil) == disabled {
			return acc, nil
		}
		acc.DisabledAt = nil
		action := "account.enable"
		if disabled {
			acc.DisabledAt, action = &now, "account.disable"
		}
		if err := tx.SetAccountDisabled(ctx, id, acc.DisabledAt); err != nil {
			return nil, err
		}
		return acc, audit(ctx, tx, id, now, actor(ctx), action, email, struct{}{})
	})
}

// FindLicense answers which account a license is in, whoever owns it: what
// a support engineer needs when a customer calls with only a key.
func (a *App) FindLicense(ctx context.Context, key string) (*licensing.LicenseOwner, error) {
	key, err := licensing.ParseKey(key)
	if err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) (*licensing.LicenseOwner, error) {
		id, _, email, err := tx.LicenseOwner(ctx, key)
		if err != nil {
			return nil, err
		}
		if id == 0 {
			return nil, licenseNotFound(key)
		}
		l, err := tx.LicenseByID(ctx, id)
		if err != nil {
			return nil, err
		}
		l.Derive(now) // status, validity, usage, maintenance as of now
		o := &licensing.LicenseOwner{License: l}
		if email != "" {
			o.Account = &email
		}
		return o, nil
	})
}

// FindPurchase answers who bought a purchase and where each of its licenses
// is now.
func (a *App) FindPurchase(ctx context.Context, purchaseID string) (*licensing.PurchaseOwner, error) {
	id, err := licensing.NormalizePurchaseID(purchaseID)
	if err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, _ time.Time) (*licensing.PurchaseOwner, error) {
		p, err := tx.PurchaseRecord(ctx, id, NoLock)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, licensing.Errorf(licensing.ENOTFOUND, "purchase %s not found", id)
		}
		o := &licensing.PurchaseOwner{PurchaseID: id, PurchaseEmail: p.PurchaseEmail, TotalCents: p.TotalCents,
			Currency: p.Currency, CreatedAt: p.CreatedAt}
		if o.Buyer, err = tx.PurchaseBuyer(ctx, id); err != nil {
			return nil, err
		}
		if o.Licenses, err = tx.PurchaseLicenses(ctx, id); err != nil {
			return nil, err
		}
		return o, nil
	})
}
