package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

var (
	_ licensing.TokenService       = (*Store)(nil)
	_ licensing.IdempotencyService = (*Store)(nil)
)

// tokenPrefix and prefixLen match the SQLite store's tokens, so a token
// survives `licensectl migrate`.
const (
	tokenPrefix = "lct_"
	prefixLen   = 8
)

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes a token for the acting account; its secret is returned
// once and only its hash is stored.
func (s *Store) CreateToken(ctx context.Context) (*licensing.Token, error) {
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	body := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	t := &licensing.Token{Secret: tokenPrefix + body, Prefix: tokenPrefix + body[:prefixLen], CreatedAt: s.now()}
	err := s.write(ctx, func(tx pgx.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		t.Account = email
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (account_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4)`,
			acct, t.Prefix, tokenHash(t.Secret), t.CreatedAt.Unix()); err != nil {
			return err
		}
		return audit(ctx, tx, acct, t.CreatedAt, actor(ctx), "token.create", t.Prefix, map[string]any{})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ListTokens lists the acting account's tokens by prefix.
func (s *Store) ListTokens(ctx context.Context) ([]licensing.Token, error) {
	acct, email, err := actingAccount(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = $1 ORDER BY id`, acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.Token{}
	for rows.Next() {
		t := licensing.Token{Account: email}
		var created int64
		var used, revoked *int64
		if err := rows.Scan(&t.Prefix, &created, &used, &revoked); err != nil {
			return nil, err
		}
		t.CreatedAt, t.LastUsed, t.RevokedAt = unixTime(created), optionalUnix(used), optionalUnix(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes one of the acting account's tokens by its prefix.
func (s *Store) RevokeToken(ctx context.Context, prefix string) error {
	prefix = strings.TrimSpace(prefix)
	return s.write(ctx, func(tx pgx.Tx) error {
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND prefix = $3 AND revoked_at IS NULL`,
			now.Unix(), acct, prefix)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return licensing.Errorf(licensing.ENOTFOUND, "no active token %q", clipText(prefix)).
				WithHint("see `licensectl accounts token list`")
		}
		return audit(ctx, tx, acct, now, actor(ctx), "token.revoke", prefix, map[string]any{})
	})
}

var errBadToken = licensing.Errorf(licensing.EUNAUTHORIZED, "invalid or revoked API token")

// Authenticate finds a token by its clear prefix and compares the hash in
// constant time. last_used_at is refreshed at most once a minute, so
// authenticating does not turn every read into a write.
func (s *Store) Authenticate(ctx context.Context, secret string) (string, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) != len(tokenPrefix)+32 {
		return "", errBadToken
	}
	prefix := secret[:len(tokenPrefix)+prefixLen]
	var (
		id            int64
		hash          []byte
		email         string
		used, revoked *int64
	)
	err := s.pool.QueryRow(ctx, `SELECT t.id, t.hash, a.email, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.prefix = $1`, prefix).Scan(&id, &hash, &email, &used, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		// Compare anyway, so an unknown prefix costs what a known one does.
		subtle.ConstantTimeCompare(tokenHash(secret), make([]byte, sha256.Size))
		return "", errBadToken
	}
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare(tokenHash(secret), hash) != 1 || revoked != nil {
		return "", errBadToken
	}
	now := s.now().Unix()
	if used == nil || now-*used >= 60 {
		// Conditional, so replicas refreshing at once write the row once.
		// Informational: a store that cannot write (a full disk, a
		// read-only standby) still authenticates, so reads keep working.
		s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2
			AND (last_used_at IS NULL OR last_used_at <= $3)`, now, id, now-60)
		if err := ctx.Err(); err != nil {
			return "", err
		}
	}
	return email, nil
}

// idempotencyTTL is how long a key is remembered, as Stripe and the IETF
// draft suggest (at least 24 hours).
const idempotencyTTL = 24 * time.Hour

// inFlightTimeout frees a key whose first request never finished (a crashed
// server), so the client's retry is not refused forever.
const inFlightTimeout = 5 * time.Minute

// BeginIdempotent implements licensing.IdempotencyService. Two replicas
// reserving one key at once both try the insert; the primary key lets one
// win, and the loser's rerun finds the winner's in-flight record.
func (s *Store) BeginIdempotent(ctx context.Context, key, requestHash string) (*licensing.IdempotentResponse, error) {
	var stored *licensing.IdempotentResponse
	err := s.write(ctx, func(tx pgx.Tx) error {
		stored = nil
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2
			AND (created_at < $3 OR (status = 0 AND created_at < $4))`,
			acct, key, now.Add(-idempotencyTTL).Unix(), now.Add(-inFlightTimeout).Unix()); err != nil {
			return err
		}
		var r licensing.IdempotentResponse
		err = tx.QueryRow(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = $1 AND key = $2`,
			acct, key).Scan(&r.RequestHash, &r.Status, &r.Body)
		switch {
		case err == nil:
			stored = &r
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)`,
			acct, key, requestHash, now.Unix())
		return err
	})
	return stored, err
}

// FinishIdempotent implements licensing.IdempotencyService.
func (s *Store) FinishIdempotent(ctx context.Context, key string, status int, body []byte) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		if status >= 500 {
			_, err = tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND status = 0`, acct, key)
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE account_id = $3 AND key = $4 AND status = 0`,
			status, body, acct, key)
		return err
	})
}
