package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

const productColumns = `sku, name, term, edition, price_cents, monthly_price_cents, annual_price_cents,
	maintenance_price_cents, platforms, seats, latest_version, currency, per_license`

func scanProduct(sc interface{ Scan(...any) error }) (*licensing.Product, error) {
	var p licensing.Product
	var platforms string
	if err := sc.Scan(&p.SKU, &p.Name, &p.Term, &p.Edition, &p.PriceCents, &p.MonthlyPriceCents, &p.AnnualPriceCents,
		&p.MaintenancePriceCents, &platforms, &p.Seats, &p.LatestVersion, &p.Currency, &p.PerLicense); err != nil {
		return nil, err
	}
	p.Platforms = splitList(platforms)
	return &p, nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// ListProducts returns the catalog: lifetime products, subscriptions, add-ons.
func (s *Store) ListProducts(ctx context.Context) ([]licensing.Product, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+productColumns+` FROM products
		ORDER BY CASE term WHEN 'perpetual' THEN 0 WHEN 'subscription' THEN 1 ELSE 2 END, sku`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []licensing.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// FindProduct returns the catalog entry of sku.
func (s *Store) FindProduct(ctx context.Context, sku string) (*licensing.Product, error) {
	return findProduct(ctx, s.r, sku)
}

func findProduct(ctx context.Context, q queryer, sku string) (*licensing.Product, error) {
	sku = strings.ToLower(strings.TrimSpace(sku))
	p, err := scanProduct(q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE sku = ?`, sku))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licensing.Errorf(licensing.ENOTFOUND, "unknown product %s", sku).
			WithHint("see `licensectl products list`")
	}
	return p, err
}

// ImportProducts validates every product first and then upserts them all in
// one transaction: a price list with one bad entry changes nothing.
func (s *Store) ImportProducts(ctx context.Context, products []licensing.Product) (int, error) {
	if len(products) == 0 {
		return 0, licensing.Errorf(licensing.EINVALID, "no products to import")
	}
	valid := make([]licensing.Product, len(products))
	skus := make([]string, len(products))
	for i, p := range products {
		// Purchases look SKUs up in lower case, so a catalog entry in any other
		// case could never be bought.
		p.SKU = strings.ToLower(strings.TrimSpace(p.SKU))
		if err := p.Validate(); err != nil {
			return 0, err
		}
		valid[i], skus[i] = p, p.SKU
	}
	var acct any // the importing account, if any, sees the import in its audit log
	err := s.write(ctx, func(tx *sql.Tx) error {
		if licensing.AccountFrom(ctx) != "" {
			id, _, err := actingAccount(ctx, tx)
			if err != nil {
				return err
			}
			acct = id
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO products (`+productColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (sku) DO UPDATE SET name = excluded.name, term = excluded.term,
				edition = excluded.edition, price_cents = excluded.price_cents,
				monthly_price_cents = excluded.monthly_price_cents, annual_price_cents = excluded.annual_price_cents,
				maintenance_price_cents = excluded.maintenance_price_cents, platforms = excluded.platforms,
				seats = excluded.seats, latest_version = excluded.latest_version, currency = excluded.currency,
				per_license = excluded.per_license`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range valid {
			if _, err := stmt.ExecContext(ctx, productArgs(&p)...); err != nil {
				return err
			}
		}
		return audit(ctx, tx, acct, s.now(), actor(ctx), "products.import", "",
			map[string]any{"count": len(valid), "skus": skus})
	})
	if err != nil {
		return 0, err
	}
	return len(valid), nil
}

func productArgs(p *licensing.Product) []any {
	return []any{p.SKU, p.Name, p.Term, p.Edition, p.PriceCents, p.MonthlyPriceCents, p.AnnualPriceCents,
		p.MaintenancePriceCents, strings.Join(p.Platforms, ","), p.Seats, p.LatestVersion, p.Currency, boolInt(p.PerLicense)}
}

// Seed adds the default catalog's products whose SKU is missing. It never
// overwrites an entry, so re-running `licensectl init` keeps an imported
// price list.
func (s *Store) Seed(ctx context.Context) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO products (`+productColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		var added []string
		for _, p := range licensing.DefaultCatalog() {
			res, err := stmt.ExecContext(ctx, productArgs(&p)...)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				added = append(added, p.SKU)
			}
		}
		if err := seedBuilds(ctx, tx); err != nil {
			return err
		}
		n = len(added)
		if n == 0 {
			return nil
		}
		return audit(ctx, tx, nil, s.now(), actor(ctx), "products.seed", "", map[string]any{"count": n, "skus": added})
	})
	return n, err
}

// seedBuilds gives every default-catalog product that has no builds yet the
// default builds for the platforms it has in the store. It runs on every
// `init`, so a store created before builds existed gets them too, and it
// never touches a product whose builds were already set.
func seedBuilds(ctx context.Context, tx *sql.Tx) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO builds (product, os, version, package, url, released_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range licensing.DefaultCatalog() {
		if p.Term == licensing.TermAddon {
			continue
		}
		var platforms string
		var builds int
		err := tx.QueryRowContext(ctx, `SELECT platforms, (SELECT count(*) FROM builds WHERE product = sku)
			FROM products WHERE sku = ?`, p.SKU).Scan(&platforms, &builds)
		if errors.Is(err, sql.ErrNoRows) || builds > 0 {
			continue
		} else if err != nil {
			return err
		}
		p.Platforms = splitList(platforms)
		for _, b := range licensing.DefaultBuilds(p) {
			if _, err := stmt.ExecContext(ctx, b.Product, b.OS, b.Version, b.Package, b.URL, b.ReleasedAt.Unix()); err != nil {
				return err
			}
		}
	}
	return nil
}
