package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

// InsertBuilds implements app.ProductTx in one batch.
func (t *tx) InsertBuilds(ctx context.Context, bs []licensing.Build) error {
	b := &pgx.Batch{}
	for _, d := range bs {
		b.Queue(`INSERT INTO builds (product, os, version, package, url, released_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, d.Product, d.OS, d.Version, d.Package, d.URL, d.ReleasedAt.Unix())
	}
	return t.tx.SendBatch(ctx, b).Close()
}
