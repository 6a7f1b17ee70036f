package sqlite

import (
	"context"

	"github.com/licensectl/licensectl/internal/licensing"
)

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
