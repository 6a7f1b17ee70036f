package sqlite

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Builds implements app.ActivationTx.
func (t *tx) Builds(ctx context.Context, product, os string) ([]licensing.Build, error) {
	// Through the statement cache: validation reads the builds every time.
	rows, err := t.query(ctx, buildsSQL, product, os)
	return all(rows, err, app.ScanBuild)
}

const buildsSQL = `SELECT product, os, version, package, url, released_at FROM builds
		WHERE product = ?1 AND (?2 = '' OR os = ?2)`
