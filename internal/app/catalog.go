package app

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.CatalogService = (*App)(nil)

// ProductTx is what the catalog use cases need of a transaction besides
// CatalogTx's look-up.
type ProductTx interface {
	// Products lists the catalog: lifetime products, subscriptions, add-ons,
	// each by SKU.
	Products(ctx context.Context) ([]licensing.Product, error)
	// UpsertProducts inserts the products, replacing every field of those
	// whose SKU is stored.
	UpsertProducts(ctx context.Context, ps []licensing.Product) error
	// InsertMissingProducts inserts the products whose SKU is not stored and
	// returns the SKUs it inserted; it never changes a stored product.
	InsertMissingProducts(ctx context.Context, ps []licensing.Product) ([]string, error)
	// InsertBuilds inserts builds, skipping those stored already (same
	// product, OS and version).
	InsertBuilds(ctx context.Context, bs []licensing.Build) error
}

// ListProducts returns the catalog: lifetime products, subscriptions, add-ons.
func (a *App) ListProducts(ctx context.Context) ([]licensing.Product, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Product, error) { return tx.Products(ctx) })
}

// FindProduct returns the catalog entry of sku (any case), or ENOTFOUND.
func (a *App) FindProduct(ctx context.Context, sku string) (*licensing.Product, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) (*licensing.Product, error) { return product(ctx, tx, sku) })
}

// ImportProducts validates every product first and then upserts them all in
// one transaction: a price list with one bad entry changes nothing.
func (a *App) ImportProducts(ctx context.Context, products []licensing.Product) (int, error) {
	if len(products) == 0 {
		return 0, licensing.Errorf(licensing.EINVALID, "no products to import")
	}
	n, err := a.ImportCatalog(ctx, products, nil)
	if err != nil {
		return 0, err
	}
	return n.Products, nil
}

// Seed adds the default catalog's products whose SKU is missing. It never
// overwrites an entry, so re-running `licensectl init` keeps an imported
// price list. It then gives every default-catalog product that has no builds
// yet the default builds for the platforms it has in the store: a store
// created before builds existed gets them too, and a product whose builds
// were already set is never touched.
func (a *App) Seed(ctx context.Context) (int, error) {
	return write(ctx, a, func(tx Tx, now time.Time) (int, error) {
		catalog := licensing.DefaultCatalog()
		added, err := tx.InsertMissingProducts(ctx, catalog)
		if err != nil {
			return 0, err
		}
		var builds []licensing.Build
		for _, d := range catalog {
			if d.Term == licensing.TermAddon {
				continue
			}
			p, err := tx.Product(ctx, d.SKU)
			if err != nil {
				return 0, err
			}
			if p == nil {
				continue
			}
			if have, err := tx.Builds(ctx, d.SKU, ""); err != nil {
				return 0, err
			} else if len(have) > 0 {
				continue
			}
			d.Platforms = p.Platforms
			builds = append(builds, licensing.DefaultBuilds(d)...)
		}
		if len(builds) > 0 {
			if err := tx.InsertBuilds(ctx, builds); err != nil {
				return 0, err
			}
		}
		if len(added) == 0 {
			return 0, nil
		}
		return len(added), audit(ctx, tx, 0, now, actor(ctx), "products.seed", "",
			map[string]any{"count": len(added), "skus": added})
	})
}
