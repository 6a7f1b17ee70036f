package postgres

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// TouchToken implements app.TokenLookup, in one statement outside any
// transaction; conditional, so replicas refreshing at once write the row
// once. Informational: a store that cannot write (a full disk, a read-only
// standby) still authenticates, so reads keep working.
func (s *Store) TouchToken(ctx context.Context, operator bool, id int64, at, since time.Time) error {
	s.pool.Exec(ctx, "UPDATE "+app.TokenTable(operator)+` SET last_used_at = $1 WHERE id = $2
		AND (last_used_at IS NULL OR last_used_at <= $3)`, at.Unix(), id, since.Unix())
	return ctx.Err()
}
