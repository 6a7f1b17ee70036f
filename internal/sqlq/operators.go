package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// InsertOperator implements app.OperatorTx.
func (t Tx) InsertOperator(ctx context.Context, name string, at time.Time) (int64, error) {
	var id int64
	err := t.queryRow(ctx, "INSERT INTO operators (name, created_at) VALUES ($1, $2) RETURNING id", name, at.Unix()).Scan(&id)
	return id, err
}

func scanOperator(sc app.Scanner) (*app.OperatorRecord, error) {
	var o app.OperatorRecord
	var created int64
	var disabled *int64
	if err := sc.Scan(&o.ID, &o.Name, &created, &disabled, &o.Tokens); err != nil {
		return nil, err
	}
	o.CreatedAt, o.DisabledAt = app.Unix(created), app.UnixOrNil(disabled)
	return &o, nil
}

// OperatorByName implements app.OperatorTx.
func (t Tx) OperatorByName(ctx context.Context, name string) (*app.OperatorRecord, error) {
	return one(t, t.queryRow(ctx, "SELECT id, name, created_at, disabled_at, 0 FROM operators WHERE name = $1", name), scanOperator)
}

// Operators implements app.OperatorTx.
func (t Tx) Operators(ctx context.Context, now time.Time) ([]licensing.Operator, error) {
	rows, err := t.query(ctx, `SELECT o.id, o.name, o.created_at, o.disabled_at,
		(SELECT count(*) FROM operator_tokens k WHERE k.operator_id = o.id AND k.revoked_at IS NULL
			AND (k.expires_at IS NULL OR k.expires_at > $1))
		FROM operators o ORDER BY o.name`, now.Unix())
	recs, err := all(rows, err, scanOperator)
	out := make([]licensing.Operator, len(recs))
	for i, r := range recs {
		out[i] = r.Operator
	}
	return out, err
}

// SetOperatorDisabled implements app.OperatorTx.
func (t Tx) SetOperatorDisabled(ctx context.Context, id int64, at *time.Time) error {
	_, err := t.exec(ctx, "UPDATE operators SET disabled_at = $1 WHERE id = $2", unixOrNull(at), id)
	return err
}

// InsertOperatorToken implements app.OperatorTx.
func (t Tx) InsertOperatorToken(ctx context.Context, n app.NewToken) error {
	_, err := t.exec(ctx, `INSERT INTO operator_tokens (operator_id, prefix, hash, name, scopes, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, n.OperatorID, n.Prefix, n.Hash, n.Name, app.JoinScopes(n.Scopes), n.At.Unix(), unixOrNull(n.ExpiresAt))
	return err
}

// OperatorTokens implements app.OperatorTx.
func (t Tx) OperatorTokens(ctx context.Context, operatorID int64) ([]licensing.Token, error) {
	rows, err := t.query(ctx, `SELECT `+app.TokenColumns+` FROM operator_tokens WHERE operator_id = $1 ORDER BY id`, operatorID)
	return all(rows, err, app.ScanToken)
}

// RevokeOperatorToken implements app.OperatorTx.
func (t Tx) RevokeOperatorToken(ctx context.Context, prefix string, at time.Time) (string, error) {
	var name string
	err := t.queryRow(ctx, `UPDATE operator_tokens SET revoked_at = $1 WHERE prefix = $2 AND revoked_at IS NULL
		RETURNING (SELECT name FROM operators o WHERE o.id = operator_id)`, at.Unix(), prefix).Scan(&name)
	if t.c.NoRows(err) {
		return "", nil
	}
	return name, err
}

// AccountByEmail implements app.OperatorTx.
func (t Tx) AccountByEmail(ctx context.Context, email string) (*licensing.Account, int64, error) {
	var id int64
	a, err := one(t, t.queryRow(ctx, "SELECT "+app.AccountColumns+", id FROM accounts WHERE email = $1", email),
		func(sc app.Scanner) (*licensing.Account, error) {
			return app.ScanAccount(scanExtra{sc, &id})
		})
	return a, id, err
}

// SetAccountDisabled implements app.OperatorTx.
func (t Tx) SetAccountDisabled(ctx context.Context, id int64, at *time.Time) error {
	_, err := t.exec(ctx, "UPDATE accounts SET disabled_at = $1 WHERE id = $2", unixOrNull(at), id)
	return err
}

// scanExtra is a Scanner that appends dest to every Scan: a row with
// columns after those a scanner reads.
type scanExtra struct {
	sc   app.Scanner
	dest *int64
}

func (s scanExtra) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.dest)...) }

// LicenseOwner implements app.LookupTx.
func (t Tx) LicenseOwner(ctx context.Context, key string) (int64, int64, string, error) {
	var id int64
	var acct *int64
	var email *string
	err := t.queryRow(ctx, `SELECT l.id, a.id, a.email FROM licenses l LEFT JOIN accounts a ON a.id = l.account_id
		WHERE l.key = $1`, key).Scan(&id, &acct, &email)
	if t.c.NoRows(err) {
		return 0, 0, "", nil
	}
	if err != nil || acct == nil {
		return id, 0, "", err
	}
	return id, *acct, *email, nil
}

// PurchaseBuyer implements app.LookupTx.
func (t Tx) PurchaseBuyer(ctx context.Context, purchaseID string) (string, error) {
	var email string
	err := t.queryRow(ctx, `SELECT a.email FROM purchases p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1`,
		purchaseID).Scan(&email)
	return email, err
}

// PurchaseLicenses implements app.LookupTx.
func (t Tx) PurchaseLicenses(ctx context.Context, purchaseID string) ([]licensing.PurchaseOwned, error) {
	rows, err := t.query(ctx, `SELECT l.key, l.product, a.email, c.name FROM licenses l
		LEFT JOIN accounts a ON a.id = l.account_id LEFT JOIN companies c ON c.id = l.company_id
		WHERE l.purchase_id = $1 ORDER BY l.id`, purchaseID)
	return all(rows, err, func(sc app.Scanner) (*licensing.PurchaseOwned, error) {
		var o licensing.PurchaseOwned
		return &o, sc.Scan(&o.Key, &o.Product, &o.Account, &o.Company)
	})
}
