package sqlq

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Builds implements app.ActivationTx.
func (t Tx) Builds(ctx context.Context, product, os string) ([]licensing.Build, error) {
	rows, err := t.query(ctx, `SELECT `+app.BuildColumns+` FROM builds
		WHERE ($1 = '' OR product = $1) AND ($2 = '' OR os = $2) ORDER BY product, target, version`, product, os)
	return all(rows, err, app.ScanBuild)
}

const insertBuild = `INSERT INTO builds (` + app.BuildColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func (t Tx) execBuild(ctx context.Context, query string, b licensing.Build) (int64, error) {
	return t.exec(ctx, query, b.Product, b.Target, b.OS, b.Version, b.Package, b.URL, b.Artifact, b.Size, b.SHA256, b.ReleasedAt.Unix())
}

// InsertBuilds implements app.ProductTx.
func (t Tx) InsertBuilds(ctx context.Context, bs []licensing.Build) error {
	for _, b := range bs {
		if _, err := t.execBuild(ctx, insertBuild+` ON CONFLICT DO NOTHING`, b); err != nil {
			return err
		}
	}
	return nil
}

// InsertBuild implements app.BuildTx.
func (t Tx) InsertBuild(ctx context.Context, b licensing.Build) (bool, error) {
	return affected(t.execBuild(ctx, insertBuild+` ON CONFLICT DO NOTHING`, b))
}

// UpsertBuilds implements app.BuildTx.
func (t Tx) UpsertBuilds(ctx context.Context, bs []licensing.Build) error {
	for _, b := range bs {
		if _, err := t.execBuild(ctx, insertBuild+`
			ON CONFLICT (product, target, version) DO UPDATE SET os = excluded.os, package = excluded.package,
				url = excluded.url, artifact = excluded.artifact, size = excluded.size, sha256 = excluded.sha256,
				released_at = excluded.released_at`, b); err != nil {
			return err
		}
	}
	return nil
}
