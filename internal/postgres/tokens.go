package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// InsertToken implements app.TokenTx.
func (t *tx) InsertToken(ctx context.Context, acct int64, prefix string, hash []byte, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO api_tokens (account_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4)`,
		acct, prefix, hash, at.Unix())
	return err
}

// Tokens implements app.TokenTx.
func (t *tx) Tokens(ctx context.Context, acct int64) ([]licensing.Token, error) {
	rows, err := t.query(ctx, `SELECT prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = $1 ORDER BY id`, acct)
	return all(rows, err, app.ScanToken)
}

// RevokeToken implements app.TokenTx.
func (t *tx) RevokeToken(ctx context.Context, acct int64, prefix string, at time.Time) (bool, error) {
	return affected(t.exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND prefix = $3 AND revoked_at IS NULL`,
		at.Unix(), acct, prefix))
}

// TokenByPrefix implements app.TokenLookup.
func (s *Store) TokenByPrefix(ctx context.Context, prefix string) (*app.TokenRecord, error) {
	return one(s.pool.QueryRow(ctx, `SELECT t.id, t.hash, a.email, t.last_used_at, t.revoked_at
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

// ForgetIdempotency implements app.IdempotencyTx.
func (t *tx) ForgetIdempotency(ctx context.Context, acct int64, key string, expired, abandoned time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2
		AND (created_at < $3 OR (status = 0 AND created_at < $4))`, acct, key, expired.Unix(), abandoned.Unix())
	return err
}

// Idempotency implements app.IdempotencyTx.
func (t *tx) Idempotency(ctx context.Context, acct int64, key string) (*licensing.IdempotentResponse, error) {
	var r licensing.IdempotentResponse
	err := t.queryRow(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = $1 AND key = $2`,
		acct, key).Scan(&r.RequestHash, &r.Status, &r.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// InsertIdempotency implements app.IdempotencyTx. Two replicas reserving
// one key at once both try the insert; the primary key lets one win, and
// the loser's rerun finds the winner's in-flight record.
func (t *tx) InsertIdempotency(ctx context.Context, acct int64, key, requestHash string, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)`,
		acct, key, requestHash, at.Unix())
	return err
}

// FinishIdempotency implements app.IdempotencyTx.
func (t *tx) FinishIdempotency(ctx context.Context, acct int64, key string, status int, body []byte) error {
	_, err := t.exec(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE account_id = $3 AND key = $4 AND status = 0`,
		status, body, acct, key)
	return err
}

// DropIdempotency implements app.IdempotencyTx.
func (t *tx) DropIdempotency(ctx context.Context, acct int64, key string) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND status = 0`, acct, key)
	return err
}
