package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var (
	_ licensing.TokenService       = (*Store)(nil)
	_ licensing.IdempotencyService = (*Store)(nil)
)

// tokenPrefix starts every token, so a leaked one is recognisable (secret
// scanners) and a token is told apart from other strings in config files.
const tokenPrefix = "lct_"

// prefixLen is how much of a token (after "lct_") is kept in clear to list
// and revoke it by; the remaining 24 characters (120 bits) stay secret.
const prefixLen = 8

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
	err := s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		t.Account = email
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (account_id, prefix, hash, created_at) VALUES (?, ?, ?, ?)`,
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
	acct, email, err := actingAccount(ctx, s.r)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = ? ORDER BY id`, acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.Token{}
	for rows.Next() {
		t := licensing.Token{Account: email}
		var created int64
		var used, revoked sql.NullInt64
		if err := rows.Scan(&t.Prefix, &created, &used, &revoked); err != nil {
			return nil, err
		}
		t.CreatedAt, t.LastUsed, t.RevokedAt = unixTime(created), optionalUnix(used), optionalUnix(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

func optionalUnix(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := unixTime(v.Int64)
	return &t
}

// RevokeToken revokes one of the acting account's tokens by its prefix.
func (s *Store) RevokeToken(ctx context.Context, prefix string) error {
	prefix = strings.TrimSpace(prefix)
	return s.write(ctx, func(tx *sql.Tx) error {
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND prefix = ? AND revoked_at IS NULL`,
			now.Unix(), acct, prefix)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licensing.Errorf(licensing.ENOTFOUND, "no active token %q", clipText(prefix)).
				WithHint("see `licensectl accounts token list`")
		}
		return audit(ctx, tx, acct, now, actor(ctx), "token.revoke", prefix, map[string]any{})
	})
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

var errBadToken = licensing.Errorf(licensing.EUNAUTHORIZED, "invalid or revoked API token")

// Authenticate finds a token by its clear prefix and compares the hash in
// constant time; the look-up runs every time (a prepared statement, no
// cached answer), so a revocation by any process applies to the next
// request. last_used_at is refreshed at most once a minute, so
// authenticating does not turn every read into a write.
func (s *Store) Authenticate(ctx context.Context, secret string) (string, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) != len(tokenPrefix)+32 {
		return "", errBadToken
	}
	prefix := secret[:len(tokenPrefix)+prefixLen]
	var id int64
	var hash []byte
	var email string
	var used sql.NullInt64
	var revoked sql.NullInt64
	err := s.reader().QueryRowContext(ctx, `SELECT t.id, t.hash, a.email, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.prefix = ?`, prefix).Scan(&id, &hash, &email, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		// Compare anyway, so an unknown prefix costs what a known one does.
		subtle.ConstantTimeCompare(tokenHash(secret), make([]byte, sha256.Size))
		return "", errBadToken
	}
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare(tokenHash(secret), hash) != 1 || revoked.Valid {
		return "", errBadToken
	}
	now := s.now().Unix()
	if !used.Valid || now-used.Int64 >= 60 {
		if err := s.touchToken(ctx, id, now); err != nil {
			return "", err
		}
	}
	return email, nil
}

// touchWait bounds how long a request waits to refresh a token's last use.
const touchWait = 50 * time.Millisecond

// touchToken records when a token was last used. That is informational
// (`accounts token list`), so a request does not wait for it behind another
// writer - a 100,000-license purchase holds the write lock for seconds -
// and a later request records it instead. Nor does a store that cannot
// write (a full disk) refuse every token: reads still work.
func (s *Store) touchToken(ctx context.Context, id, now int64) error {
	tctx, cancel := context.WithTimeout(ctx, touchWait)
	defer cancel()
	s.w.ExecContext(tctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, id)
	return ctx.Err()
}

// idempotencyTTL is how long a key is remembered, as Stripe and the IETF
// draft suggest (at least 24 hours).
const idempotencyTTL = 24 * time.Hour

// inFlightTimeout frees a key whose first request never finished (a crashed
// server), so the client's retry is not refused forever.
const inFlightTimeout = 5 * time.Minute

// BeginIdempotent implements licensing.IdempotencyService.
func (s *Store) BeginIdempotent(ctx context.Context, key, requestHash string) (*licensing.IdempotentResponse, error) {
	var stored *licensing.IdempotentResponse
	err := s.write(ctx, func(tx *sql.Tx) error {
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?
			AND (created_at < ? OR (status = 0 AND created_at < ?))`,
			acct, key, now.Add(-idempotencyTTL).Unix(), now.Add(-inFlightTimeout).Unix()); err != nil {
			return err
		}
		var r licensing.IdempotentResponse
		err = tx.QueryRowContext(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = ? AND key = ?`,
			acct, key).Scan(&r.RequestHash, &r.Status, &r.Body)
		switch {
		case err == nil:
			stored = &r
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)`,
			acct, key, requestHash, now.Unix())
		return err
	})
	return stored, err
}

// FinishIdempotent implements licensing.IdempotencyService.
func (s *Store) FinishIdempotent(ctx context.Context, key string, status int, body []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		if status >= 500 {
			_, err = tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = 0`, acct, key)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, body = ? WHERE account_id = ? AND key = ? AND status = 0`,
			status, body, acct, key)
		return err
	})
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
