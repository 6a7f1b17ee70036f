package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// touchWait bounds how long a request waits to refresh a token's last use.
const touchWait = 50 * time.Millisecond

// TouchToken implements app.TokenLookup. A request does not wait for it
// behind another writer - a 100,000-license purchase holds the write lock
// for seconds - and a later request records it instead. Nor does a store
// that cannot write (a full disk) refuse every token: reads still work.
func (s *Store) TouchToken(ctx context.Context, operator bool, id int64, at, since time.Time) error {
	tctx, cancel := context.WithTimeout(ctx, touchWait)
	defer cancel()
	s.w.ExecContext(tctx, "UPDATE "+app.TokenTable(operator)+` SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <= ?3)`,
		at.Unix(), id, since.Unix())
	return ctx.Err()
}

// Ping checks the store answers, for the server's readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// ProbeWrite runs a tiny write transaction (it rewrites the schema version
// with its own value), so the server's readiness probe finds a store that
// answers but cannot write: a full disk, a read-only file.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var uv int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", uv))
		return err
	})
}
