package postgres

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// TokenByPrefix implements app.TokenLookup.
func (s *Store) TokenByPrefix(ctx context.Context, prefix string) (*app.TokenRecord, error) {
	return one(s.pool.QueryRow(ctx, `SELECT t.id, t.hash, a.email, a.id, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.prefix = $1`, prefix), app.ScanTokenRecord)
}

// TouchToken implements app.TokenLookup, in one statement outside any
// transaction; conditional, so replicas refreshing at once write the row
// once. Informational: a store that cannot write (a full disk, a read-only
// standby) still authenticates, so reads keep working.
func (s *Store) TouchToken(ctx context.Context, id int64, at, since time.Time) error {
	s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2
		AND (last_used_at IS NULL OR last_used_at <= $3)`, at.Unix(), id, since.Unix())
	return ctx.Err()
}
