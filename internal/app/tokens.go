package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var (
	_ licensing.TokenService       = (*App)(nil)
	_ licensing.IdempotencyService = (*App)(nil)
)

// tokenPrefix starts every token, so a leaked one is recognisable (secret
// scanners) and a token is told apart from other strings in config files.
const tokenPrefix = "lct_"

// prefixLen is how much of a token (after "lct_") is kept in clear to list
// and revoke it by; the remaining 24 characters (120 bits) stay secret.
const prefixLen = 8

// tokenTouchEvery is how often a token's last use is recorded: at most once
// a minute, so authenticating does not turn every read into a write.
const tokenTouchEvery = time.Minute

// TokenRecord is a token as Authenticate reads it.
type TokenRecord struct {
	ID        int64
	Hash      []byte // SHA-256 of the secret
	Email     string // its account's
	AccountID int64
	LastUsed  *time.Time
	Revoked   bool
}

// TokenTx is what the token use cases need of a transaction.
type TokenTx interface {
	InsertToken(ctx context.Context, acct int64, prefix string, hash []byte, at time.Time) error
	// Tokens lists the account's tokens, oldest first (Account left empty).
	Tokens(ctx context.Context, acct int64) ([]licensing.Token, error)
	// RevokeToken revokes the account's live token with this prefix; false
	// when there is none.
	RevokeToken(ctx context.Context, acct int64, prefix string, at time.Time) (bool, error)
}

// TokenLookup is the part of a Backend that authenticates requests: one
// statement each, outside any transaction, since every request runs them
// (a read transaction would cost two more round trips).
type TokenLookup interface {
	// TokenByPrefix reads the token with this clear prefix, or nil.
	TokenByPrefix(ctx context.Context, prefix string) (*TokenRecord, error)
	// TouchToken records that a token was used at a time unless a use after
	// since is recorded already. It is informational and best effort: a
	// store whose writers queue for one lock does not wait long for it, and
	// its failures but the caller's cancellation are ignored.
	TouchToken(ctx context.Context, id int64, at, since time.Time) error
}

// IdempotencyTx is what the idempotency use cases need of a transaction.
type IdempotencyTx interface {
	// ForgetIdempotency deletes the account's key if it was recorded before
	// expired, or before abandoned and never finished.
	ForgetIdempotency(ctx context.Context, acct int64, key string, expired, abandoned time.Time) error
	// Idempotency reads the account's record of a key, or nil.
	Idempotency(ctx context.Context, acct int64, key string) (*licensing.IdempotentResponse, error)
	// InsertIdempotency records a key in flight.
	InsertIdempotency(ctx context.Context, acct int64, key, requestHash string, at time.Time) error
	// FinishIdempotency stores the response of a key in flight.
	FinishIdempotency(ctx context.Context, acct int64, key string, status int, body []byte) error
	// DropIdempotency deletes a key in flight.
	DropIdempotency(ctx context.Context, acct int64, key string) error
}

// ScanToken reads a row of columns prefix, created_at, last_used_at,
// revoked_at (both nullable).
func ScanToken(sc Scanner) (*licensing.Token, error) {
	var t licensing.Token
	var created int64
	var used, revoked *int64
	if err := sc.Scan(&t.Prefix, &created, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsed, t.RevokedAt = Unix(created), UnixOrNil(used), UnixOrNil(revoked)
	return &t, nil
}

// ScanTokenRecord reads a row of columns id, hash, account email,
// last_used_at (nullable), revoked_at (nullable).
func ScanTokenRecord(sc Scanner) (*TokenRecord, error) {
	var t TokenRecord
	var used, revoked *int64
	if err := sc.Scan(&t.ID, &t.Hash, &t.Email, &t.AccountID, &used, &revoked); err != nil {
		return nil, err
	}
	t.LastUsed, t.Revoked = UnixOrNil(used), revoked != nil
	return &t, nil
}

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes a token for the acting account; its secret is returned
// once and only its hash is stored.
func (a *App) CreateToken(ctx context.Context) (*licensing.Token, error) {
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	body := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	secret, prefix := tokenPrefix+body, tokenPrefix+body[:prefixLen]
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Token, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if err := tx.InsertToken(ctx, acct.id, prefix, tokenHash(secret), now); err != nil {
			return nil, err
		}
		t := &licensing.Token{Secret: secret, Prefix: prefix, Account: acct.email, CreatedAt: now}
		return t, audit(ctx, tx, acct.id, now, actor(ctx), "token.create", prefix, map[string]any{})
	})
}

// ListTokens lists the acting account's tokens, oldest first.
func (a *App) ListTokens(ctx context.Context) ([]licensing.Token, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Token, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		ts, err := tx.Tokens(ctx, acct.id)
		for i := range ts {
			ts[i].Account = acct.email
		}
		return ts, err
	})
}

// RevokeToken revokes one of the acting account's tokens by its prefix.
func (a *App) RevokeToken(ctx context.Context, prefix string) error {
	prefix = strings.TrimSpace(prefix)
	_, err := write(ctx, a, func(tx Tx, now time.Time) (struct{}, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return struct{}{}, err
		}
		if ok, err := tx.RevokeToken(ctx, acct.id, prefix, now); err != nil {
			return struct{}{}, err
		} else if !ok {
			return struct{}{}, licensing.Errorf(licensing.ENOTFOUND, "no active token %q", licensing.ClipArg(prefix)).
				WithHint("see `licensectl accounts token list`")
		}
		return struct{}{}, audit(ctx, tx, acct.id, now, actor(ctx), "token.revoke", prefix, map[string]any{})
	})
	return err
}

var errBadToken = licensing.Errorf(licensing.EUNAUTHORIZED, "invalid or revoked API token")

// Authenticate finds a token by its clear prefix and compares the hash in
// constant time; the look-up runs every time (no cached answer), so a
// revocation by any process or replica applies to the next request. The
// token's last use is recorded at most once a minute (tokenTouchEvery).
func (a *App) Authenticate(ctx context.Context, secret string) (licensing.Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) != len(tokenPrefix)+32 {
		return licensing.Principal{}, errBadToken
	}
	prefix := secret[:len(tokenPrefix)+prefixLen]
	t, err := a.store.TokenByPrefix(ctx, prefix)
	if err != nil {
		return licensing.Principal{}, err
	}
	if t == nil {
		// Compare anyway, so an unknown prefix costs what a known one does.
		subtle.ConstantTimeCompare(tokenHash(secret), make([]byte, sha256.Size))
		return licensing.Principal{}, errBadToken
	}
	if subtle.ConstantTimeCompare(tokenHash(secret), t.Hash) != 1 || t.Revoked {
		return licensing.Principal{}, errBadToken
	}
	now := a.now()
	if since := now.Add(-tokenTouchEvery); t.LastUsed == nil || !t.LastUsed.After(since) {
		if err := a.store.TouchToken(ctx, t.ID, now, since); err != nil {
			return licensing.Principal{}, err
		}
	}
	return licensing.Principal{Email: t.Email, Ref: accountRef{id: t.AccountID}}, nil
}

// accountRef is the handle on an account that Authenticate puts in a
// Principal: the account's id, so that the request's calls need not look
// the account up by email again.
type accountRef struct{ id int64 }

// idempotencyTTL is how long a key is remembered, as Stripe and the IETF
// draft suggest (at least 24 hours).
const idempotencyTTL = 24 * time.Hour

// inFlightTimeout frees a key whose first request never finished (a crashed
// server), so the client's retry is not refused forever.
const inFlightTimeout = 5 * time.Minute

// BeginIdempotent implements licensing.IdempotencyService. Two server
// replicas reserving one key at once both try the insert; the key's
// uniqueness lets one win, and the loser's rerun finds the winner's
// in-flight record.
func (a *App) BeginIdempotent(ctx context.Context, key, requestHash string) (*licensing.IdempotentResponse, error) {
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.IdempotentResponse, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if err := tx.ForgetIdempotency(ctx, acct.id, key, now.Add(-idempotencyTTL), now.Add(-inFlightTimeout)); err != nil {
			return nil, err
		}
		if stored, err := tx.Idempotency(ctx, acct.id, key); err != nil || stored != nil {
			return stored, err
		}
		return nil, tx.InsertIdempotency(ctx, acct.id, key, requestHash, now)
	})
}

// FinishIdempotent implements licensing.IdempotencyService: a response is
// stored for replay, but a server error frees the key for a retry.
func (a *App) FinishIdempotent(ctx context.Context, key string, status int, body []byte) error {
	_, err := write(ctx, a, func(tx Tx, _ time.Time) (struct{}, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return struct{}{}, err
		}
		if status >= 500 {
			return struct{}{}, tx.DropIdempotency(ctx, acct.id, key)
		}
		return struct{}{}, tx.FinishIdempotency(ctx, acct.id, key, status, body)
	})
	return err
}
