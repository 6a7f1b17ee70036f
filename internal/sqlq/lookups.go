package sqlq

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// AccountID implements app.AccountTx.
func (t Tx) AccountID(ctx context.Context, email string) (int64, error) {
	var id int64
	err := t.queryRow(ctx, "SELECT id FROM accounts WHERE email = $1", email).Scan(&id)
	if t.c.NoRows(err) {
		return 0, nil
	}
	return id, err
}

// Product implements app.CatalogTx.
func (t Tx) Product(ctx context.Context, sku string) (*licensing.Product, error) {
	return one(t, t.queryRow(ctx, `SELECT `+app.ProductColumns+` FROM products WHERE sku = $1`, sku), app.ScanProduct)
}
