package postgres

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Builds implements app.ActivationTx.
func (t *tx) Builds(ctx context.Context, product, os string) ([]licensing.Build, error) {
	rows, err := t.query(ctx, `SELECT product, os, version, package, url, released_at FROM builds
		WHERE product = $1 AND ($2 = '' OR os = $2)`, product, os)
	return all(rows, err, app.ScanBuild)
}
