package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// The look-ups of this file serve the use cases the store still implements
// itself (buy, maintenance, renewals) and the copy of stores; they go when
// those move to internal/app, which has its own (app.product, app.ParseKey).

const productColumns = app.ProductColumns

// findProduct returns the catalog entry of sku (any case), or ENOTFOUND.
func findProduct(ctx context.Context, q queryer, sku string) (*licensing.Product, error) {
	sku = strings.ToLower(strings.TrimSpace(sku))
	p, err := app.ScanProduct(q.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE sku = $1`, sku))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, licensing.Errorf(licensing.ENOTFOUND, "unknown product %s", sku).
			WithHint("see `licensectl products list`")
	}
	return p, err
}

// parseKey checks a key as typed before any look-up, so a typo is reported as
// such rather than as an unknown license.
func parseKey(key string) (string, error) { return app.ParseKey(key) }

func licenseNotFound(key string) error {
	return licensing.Errorf(licensing.ENOTFOUND, "license %s not found", key)
}
