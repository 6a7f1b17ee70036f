package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

// Products implements app.ProductTx.
func (t *tx) Products(ctx context.Context) ([]licensing.Product, error) {
	rows, err := t.query(ctx, `SELECT `+app.ProductColumns+` FROM products
		ORDER BY CASE term WHEN 'perpetual' THEN 0 WHEN 'subscription' THEN 1 ELSE 2 END, sku`)
	return all(rows, err, app.ScanProduct)
}

const insertProduct = `INSERT INTO products (` + app.ProductColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// UpsertProducts implements app.ProductTx in one batch.
func (t *tx) UpsertProducts(ctx context.Context, ps []licensing.Product) error {
	_, err := t.eachProduct(ctx, insertProduct+sqlq.ProductUpsert, ps)
	return err
}

// InsertMissingProducts implements app.ProductTx in one batch.
func (t *tx) InsertMissingProducts(ctx context.Context, ps []licensing.Product) ([]string, error) {
	return t.eachProduct(ctx, insertProduct+` ON CONFLICT (sku) DO NOTHING`, ps)
}

// eachProduct runs the insert query for each product, in one batch, and
// returns the SKUs of the rows it changed.
func (t *tx) eachProduct(ctx context.Context, query string, ps []licensing.Product) ([]string, error) {
	b := &pgx.Batch{}
	for _, p := range ps {
		b.Queue(query, p.SKU, p.Name, p.Term, p.Edition, p.PriceCents, p.MonthlyPriceCents, p.AnnualPriceCents,
			p.MaintenancePriceCents, strings.Join(p.Platforms, ","), p.Seats, p.LatestVersion, p.Currency, p.PerLicense)
	}
	res := t.tx.SendBatch(ctx, b)
	defer res.Close()
	var changed []string
	for _, p := range ps {
		if ok, err := affected(res.Exec()); err != nil {
			return nil, err
		} else if ok {
			changed = append(changed, p.SKU)
		}
	}
	return changed, res.Close()
}

// InsertBuilds implements app.ProductTx in one batch.
func (t *tx) InsertBuilds(ctx context.Context, bs []licensing.Build) error {
	b := &pgx.Batch{}
	for _, d := range bs {
		b.Queue(`INSERT INTO builds (product, os, version, package, url, released_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, d.Product, d.OS, d.Version, d.Package, d.URL, d.ReleasedAt.Unix())
	}
	return t.tx.SendBatch(ctx, b).Close()
}
