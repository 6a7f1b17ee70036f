package sqlq

import (
	"context"
	"strings"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// InsertMissingProducts implements app.ProductTx in one batch.
func (t Tx) InsertMissingProducts(ctx context.Context, ps []licensing.Product) ([]string, error) {
	return t.eachProduct(ctx, insertProduct+` ON CONFLICT (sku) DO NOTHING`, ps)
}

// Products implements app.ProductTx.
func (t Tx) Products(ctx context.Context) ([]licensing.Product, error) {
	rows, err := t.query(ctx, `SELECT `+app.ProductColumns+` FROM products
		ORDER BY CASE term WHEN 'perpetual' THEN 0 WHEN 'subscription' THEN 1 ELSE 2 END, sku`)
	return all(rows, err, app.ScanProduct)
}

// UpsertProducts implements app.ProductTx in one batch.
func (t Tx) UpsertProducts(ctx context.Context, ps []licensing.Product) error {
	_, err := t.eachProduct(ctx, insertProduct+ProductUpsert, ps)
	return err
}

const insertProduct = `INSERT INTO products (` + app.ProductColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// eachProduct runs the insert query for each product and returns the SKUs
// of the rows it changed.
func (t Tx) eachProduct(ctx context.Context, query string, ps []licensing.Product) ([]string, error) {
	var changed []string
	for _, p := range ps {
		ok, err := affected(t.exec(ctx, query, p.SKU, p.Name, p.Term, p.Edition, p.PriceCents, p.MonthlyPriceCents,
			p.AnnualPriceCents, p.MaintenancePriceCents, strings.Join(p.Platforms, ","), p.Seats, p.LatestVersion,
			p.Currency, p.PerLicense))
		if err != nil {
			return nil, err
		}
		if ok {
			changed = append(changed, p.SKU)
		}
	}
	return changed, nil
}
