package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// InsertToken implements app.TokenTx.
func (t *tx) InsertToken(ctx context.Context, acct int64, prefix string, hash []byte, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO api_tokens (account_id, prefix, hash, created_at) VALUES (?, ?, ?, ?)`,
		acct, prefix, hash, at.Unix())
	return err
}

// Tokens implements app.TokenTx.
func (t *tx) Tokens(ctx context.Context, acct int64) ([]licensing.Token, error) {
	rows, err := t.query(ctx, `SELECT prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = ? ORDER BY id`, acct)
	return all(rows, err, app.ScanToken)
}

// RevokeToken implements app.TokenTx.
func (t *tx) RevokeToken(ctx context.Context, acct int64, prefix string, at time.Time) (bool, error) {
	return affected(t.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND prefix = ? AND revoked_at IS NULL`,
		at.Unix(), acct, prefix))
}

// TokenByPrefix implements app.TokenLookup with a cached statement.
func (s *Store) TokenByPrefix(ctx context.Context, prefix string) (*app.TokenRecord, error) {
	t, err := app.ScanTokenRecord(s.reader().QueryRowContext(ctx, `SELECT t.id, t.hash, a.email, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.prefix = ?`, prefix))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return t, s.explain(err)
}

// touchWait bounds how long a request waits to refresh a token's last use.
const touchWait = 50 * time.Millisecond

// TouchToken implements app.TokenLookup. A request does not wait for it
// behind another writer - a 100,000-license purchase holds the write lock
// for seconds - and a later request records it instead. Nor does a store
// that cannot write (a full disk) refuse every token: reads still work.
func (s *Store) TouchToken(ctx context.Context, id int64, at, since time.Time) error {
	tctx, cancel := context.WithTimeout(ctx, touchWait)
	defer cancel()
	s.w.ExecContext(tctx, `UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <= ?3)`,
		at.Unix(), id, since.Unix())
	return ctx.Err()
}

// ForgetIdempotency implements app.IdempotencyTx.
func (t *tx) ForgetIdempotency(ctx context.Context, acct int64, key string, expired, abandoned time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?
		AND (created_at < ? OR (status = 0 AND created_at < ?))`, acct, key, expired.Unix(), abandoned.Unix())
	return err
}

// Idempotency implements app.IdempotencyTx.
func (t *tx) Idempotency(ctx context.Context, acct int64, key string) (*licensing.IdempotentResponse, error) {
	var r licensing.IdempotentResponse
	err := t.queryRow(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = ? AND key = ?`,
		acct, key).Scan(&r.RequestHash, &r.Status, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// InsertIdempotency implements app.IdempotencyTx.
func (t *tx) InsertIdempotency(ctx context.Context, acct int64, key, requestHash string, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)`,
		acct, key, requestHash, at.Unix())
	return err
}

// FinishIdempotency implements app.IdempotencyTx.
func (t *tx) FinishIdempotency(ctx context.Context, acct int64, key string, status int, body []byte) error {
	_, err := t.exec(ctx, `UPDATE idempotency_keys SET status = ?, body = ? WHERE account_id = ? AND key = ? AND status = 0`,
		status, body, acct, key)
	return err
}

// DropIdempotency implements app.IdempotencyTx.
func (t *tx) DropIdempotency(ctx context.Context, acct int64, key string) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = 0`, acct, key)
	return err
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
