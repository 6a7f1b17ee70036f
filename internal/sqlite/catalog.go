package sqlite

import (
	"context"
	"strings"

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

const insertProduct = `INSERT INTO products (` + app.ProductColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// UpsertProducts implements app.ProductTx with one prepared statement.
func (t *tx) UpsertProducts(ctx context.Context, ps []licensing.Product) error {
	_, err := t.eachProduct(ctx, insertProduct+sqlq.ProductUpsert, ps)
	return err
}

// InsertMissingProducts implements app.ProductTx.
func (t *tx) InsertMissingProducts(ctx context.Context, ps []licensing.Product) ([]string, error) {
	return t.eachProduct(ctx, insertProduct+` ON CONFLICT (sku) DO NOTHING`, ps)
}

// eachProduct runs the insert query for each product and returns the SKUs
// of the rows it changed.
func (t *tx) eachProduct(ctx context.Context, query string, ps []licensing.Product) ([]string, error) {
	stmt, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	var changed []string
	for _, p := range ps {
		ok, err := affected(stmt.ExecContext(ctx, p.SKU, p.Name, p.Term, p.Edition, p.PriceCents, p.MonthlyPriceCents,
			p.AnnualPriceCents, p.MaintenancePriceCents, strings.Join(p.Platforms, ","), p.Seats, p.LatestVersion,
			p.Currency, boolInt(p.PerLicense)))
		if err != nil {
			return nil, err
		}
		if ok {
			changed = append(changed, p.SKU)
		}
	}
	return changed, nil
}

// InsertBuilds implements app.ProductTx with one prepared statement.
func (t *tx) InsertBuilds(ctx context.Context, bs []licensing.Build) error {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT OR IGNORE INTO builds (product, os, version, package, url, released_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, b := range bs {
		if _, err := stmt.ExecContext(ctx, b.Product, b.OS, b.Version, b.Package, b.URL, b.ReleasedAt.Unix()); err != nil {
			return err
		}
	}
	return nil
}
