package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// DropIdempotency implements app.IdempotencyTx.
func (t Tx) DropIdempotency(ctx context.Context, acct int64, key string) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND status = 0`, acct, key)
	return err
}

// FinishIdempotency implements app.IdempotencyTx.
func (t Tx) FinishIdempotency(ctx context.Context, acct int64, key string, status int, body []byte) error {
	_, err := t.exec(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE account_id = $3 AND key = $4 AND status = 0`,
		status, body, acct, key)
	return err
}

// ForgetIdempotency implements app.IdempotencyTx.
func (t Tx) ForgetIdempotency(ctx context.Context, acct int64, key string, expired, abandoned time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2
		AND (created_at < $3 OR (status = 0 AND created_at < $4))`, acct, key, expired.Unix(), abandoned.Unix())
	return err
}

// Idempotency implements app.IdempotencyTx.
func (t Tx) Idempotency(ctx context.Context, acct int64, key string) (*licensing.IdempotentResponse, error) {
	var r licensing.IdempotentResponse
	err := t.queryRow(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = $1 AND key = $2`,
		acct, key).Scan(&r.RequestHash, &r.Status, &r.Body)
	if t.c.NoRows(err) {
		return nil, nil
	}
	return &r, err
}

// InsertIdempotency implements app.IdempotencyTx. Two replicas reserving
// one key at once both try the insert; the primary key lets one win, and
// the loser's rerun finds the winner's in-flight record.
func (t Tx) InsertIdempotency(ctx context.Context, acct int64, key, requestHash string, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)`,
		acct, key, requestHash, at.Unix())
	return err
}

// InsertToken implements app.TokenTx.
func (t Tx) InsertToken(ctx context.Context, n app.NewToken) error {
	_, err := t.exec(ctx, `INSERT INTO api_tokens (account_id, prefix, hash, name, scopes, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, n.AccountID, n.Prefix, n.Hash, n.Name, app.JoinScopes(n.Scopes), n.At.Unix(), unixOrNull(n.ExpiresAt))
	return err
}

// RevokeToken implements app.TokenTx.
func (t Tx) RevokeToken(ctx context.Context, acct int64, prefix string, at time.Time) (bool, error) {
	return affected(t.exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND prefix = $3 AND revoked_at IS NULL`,
		at.Unix(), acct, prefix))
}

// Tokens implements app.TokenTx.
func (t Tx) Tokens(ctx context.Context, acct int64) ([]licensing.Token, error) {
	rows, err := t.query(ctx, `SELECT `+app.TokenColumns+` FROM api_tokens WHERE account_id = $1 ORDER BY id`, acct)
	return all(rows, err, app.ScanToken)
}

// AccountToken implements app.TokenTx: one statement, for a ReadOne.
func (t Tx) AccountToken(ctx context.Context, prefix string) (*app.TokenRecord, error) {
	return one(t, t.queryRow(ctx, `SELECT t.id, t.hash, a.email, a.id, t.scopes, t.last_used_at, t.expires_at, t.revoked_at,
		a.disabled_at IS NOT NULL FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.prefix = $1`, prefix), app.ScanTokenRecord)
}

// OperatorToken implements app.TokenTx: one statement, for a ReadOne.
func (t Tx) OperatorToken(ctx context.Context, prefix string) (*app.TokenRecord, error) {
	return one(t, t.queryRow(ctx, `SELECT t.id, t.hash, o.name, 0, t.scopes, t.last_used_at, t.expires_at, t.revoked_at,
		o.disabled_at IS NOT NULL FROM operator_tokens t JOIN operators o ON o.id = t.operator_id WHERE t.prefix = $1`, prefix), app.ScanTokenRecord)
}
