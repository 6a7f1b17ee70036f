package sqlite

import (
	"context"
	"database/sql"
)

// BeginSnapshot starts a read-only transaction: one consistent view of the
// whole store, for tools that copy it (`licensectl migrate`). The caller
// rolls it back when done.
func (s *Store) BeginSnapshot(ctx context.Context) (*sql.Tx, error) {
	return s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}
