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

// tokenPrefix starts every account token, operatorTokenPrefix every
// operator token, so a leaked one is recognisable (secret scanners), a token
// is told apart from other strings in config files, and an operator's token
// from a customer's at a glance.
const (
	tokenPrefix         = "lct_"
	operatorTokenPrefix = "lco_"
)

// prefixLen is how much of a token (after "lct_") is kept in clear to list
// and revoke it by; the remaining 24 characters (120 bits) stay secret.
const prefixLen = 8

// tokenTouchEvery is how often a token's last use is recorded: at most once
// a minute, so authenticating does not turn every read into a write.
const tokenTouchEvery = time.Minute

// TokenRecord is a token as Authenticate reads it: an account's (AccountID
// set) or an operator's (Operator set).
type TokenRecord struct {
	ID        int64
	Hash      []byte // SHA-256 of the secret
	Email     string // its account's
	AccountID int64
	Operator  string // its operator's name
	Scopes    []string
	LastUsed  *time.Time
	ExpiresAt *time.Time
	Revoked   bool
	Disabled  bool // its account or operator is disabled
}

// NewToken is a token to store: its owner (an account or an operator), its
// clear prefix, the hash of its secret and what it may do.
type NewToken struct {
	AccountID  int64
	OperatorID int64
	Prefix     string
	Hash       []byte
	Name       string
	Scopes     []string
	ExpiresAt  *time.Time
	At         time.Time
}

// TokenTx is what the token use cases need of a transaction.
type TokenTx interface {
	// InsertToken stores an account's token (AccountID set).
	InsertToken(ctx context.Context, t NewToken) error
	// Tokens lists the account's tokens, oldest first (Account left empty).
	Tokens(ctx context.Context, acct int64) ([]licensing.Token, error)
	// RevokeToken revokes the account's live token with this prefix; false
	// when there is none.
	RevokeToken(ctx context.Context, acct int64, prefix string, at time.Time) (bool, error)
	// AccountToken reads the account token with this clear prefix, or nil;
	// OperatorToken the operator token.
	AccountToken(ctx context.Context, prefix string) (*TokenRecord, error)
	OperatorToken(ctx context.Context, prefix string) (*TokenRecord, error)
}

// TokenLookup is the part of a Backend that records a token's use: one
// statement outside any transaction, since requests run it.
type TokenLookup interface {
	// TouchToken records that a token (an operator's when operator) was
	// used at a time unless a use after since is recorded already. It is
	// informational and best effort: a store whose writers queue for one
	// lock does not wait long for it, and its failures but the caller's
	// cancellation are ignored.
	TouchToken(ctx context.Context, operator bool, id int64, at, since time.Time) error
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

// TokenColumns are what ScanToken reads, over a token table.
const TokenColumns = "prefix, name, scopes, created_at, last_used_at, expires_at, revoked_at"

// ScanToken reads a row of TokenColumns (the last three nullable).
func ScanToken(sc Scanner) (*licensing.Token, error) {
	var t licensing.Token
	var scopes string
	var created int64
	var used, expires, revoked *int64
	if err := sc.Scan(&t.Prefix, &t.Name, &scopes, &created, &used, &expires, &revoked); err != nil {
		return nil, err
	}
	t.Scopes = splitScopes(scopes)
	t.CreatedAt, t.LastUsed, t.ExpiresAt, t.RevokedAt = Unix(created), UnixOrNil(used), UnixOrNil(expires), UnixOrNil(revoked)
	return &t, nil
}

// ScanTokenRecord reads a row of columns id, hash, owner name (the
// account's email or the operator's name), account id (0 for an
// operator's), scopes, last_used_at, expires_at, revoked_at (the last three
// nullable), and whether the owner is disabled.
func ScanTokenRecord(sc Scanner) (*TokenRecord, error) {
	var t TokenRecord
	var owner, scopes string
	var used, expires, revoked *int64
	if err := sc.Scan(&t.ID, &t.Hash, &owner, &t.AccountID, &scopes, &used, &expires, &revoked, &t.Disabled); err != nil {
		return nil, err
	}
	if t.AccountID != 0 {
		t.Email = owner
	} else {
		t.Operator = owner
	}
	t.Scopes = splitScopes(scopes)
	t.LastUsed, t.ExpiresAt, t.Revoked = UnixOrNil(used), UnixOrNil(expires), revoked != nil
	return &t, nil
}

// TokenTable is the table of account tokens, or of operator tokens.
func TokenTable(operator bool) string {
	if operator {
		return "operator_tokens"
	}
	return "api_tokens"
}

// JoinScopes is how a token's scopes are stored: comma-joined.
func JoinScopes(s []string) string { return strings.Join(s, ",") }

func splitScopes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// newSecret makes a token's secret and its clear prefix: kind ("lct_" or
// "lco_") and 32 characters of lower-case base32 (160 random bits).
func newSecret(kind string) (secret, prefix string, err error) {
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	body := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	return kind + body, kind + body[:prefixLen], nil
}

// newToken checks req for a token of the given kind's scopes (those the
// creator in ctx may hand on) and makes its secret: what to store, and what
// to answer (once).
func newToken(ctx context.Context, kind string, req licensing.TokenRequest, now time.Time) (NewToken, *licensing.Token, error) {
	allowed := licensing.AccountScopes()
	if kind == operatorTokenPrefix {
		allowed = licensing.OperatorScopes()
	}
	req, err := licensing.CheckTokenRequest(req, allowed)
	if err != nil {
		return NewToken{}, nil, err
	}
	if err := licensing.Narrow(ctx, req.Scopes); err != nil {
		return NewToken{}, nil, err
	}
	secret, prefix, err := newSecret(kind)
	if err != nil {
		return NewToken{}, nil, err
	}
	var expires *time.Time
	if req.ExpiresIn > 0 {
		e := now.Add(req.ExpiresIn).Truncate(time.Second)
		expires = &e
	}
	return NewToken{Prefix: prefix, Hash: tokenHash(secret), Name: req.Name, Scopes: req.Scopes, ExpiresAt: expires, At: now},
		&licensing.Token{Secret: secret, Prefix: prefix, Name: req.Name, Scopes: req.Scopes, CreatedAt: now, ExpiresAt: expires}, nil
}

// tokenDetails is what the audit log says of a new token.
func tokenDetails(t *licensing.Token) map[string]any {
	return map[string]any{"name": t.Name, "scopes": t.Scopes, "expires_at": t.ExpiresAt}
}

// CreateToken makes a token for the acting account; its secret is returned
// once and only its hash is stored. Its scopes can only narrow those of the
// token that asks for it.
func (a *App) CreateToken(ctx context.Context, req licensing.TokenRequest) (*licensing.Token, error) {
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Token, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		row, t, err := newToken(ctx, tokenPrefix, req, now)
		if err != nil {
			return nil, err
		}
		row.AccountID, t.Account = acct.id, acct.email
		if err := tx.InsertToken(ctx, row); err != nil {
			return nil, err
		}
		return t, audit(ctx, tx, acct.id, now, actor(ctx), "token.create", t.Prefix, tokenDetails(t))
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
	a.tokens.invalidate()
	return err
}

var errBadToken = licensing.Errorf(licensing.EUNAUTHORIZED, "invalid or revoked API token")

// Authenticate finds a token by its clear prefix and compares the hash in
// constant time, every time. The record it compares with is cached for at
// most tokenCacheTTL (1 s): a revocation, or a disabled owner, applies to
// the next request in this process and within a second in every other
// process and replica. The token's last use is recorded at most once a
// minute (tokenTouchEvery).
func (a *App) Authenticate(ctx context.Context, secret string) (licensing.Principal, error) {
	kind := secret[:min(len(secret), len(tokenPrefix))]
	if (kind != tokenPrefix && kind != operatorTokenPrefix) || len(secret) != len(tokenPrefix)+32 {
		return licensing.Principal{}, errBadToken
	}
	operator := kind == operatorTokenPrefix
	prefix := secret[:len(tokenPrefix)+prefixLen]
	t, gen := a.tokens.get(prefix)
	if t == nil {
		read := time.Now()
		var err error
		t, err = readWith(ctx, a, a.store.ReadOne, func(tx Tx, _ time.Time) (*TokenRecord, error) {
			if operator {
				return tx.OperatorToken(ctx, prefix)
			}
			return tx.AccountToken(ctx, prefix)
		})
		if err != nil {
			return licensing.Principal{}, err
		}
		if t != nil && !t.Revoked && !t.Disabled {
			// Only a token that works: a refused one is read again, so
			// that enabling its owner applies at once in every process.
			a.tokens.put(prefix, t, gen, read)
		}
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
	switch {
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return licensing.Principal{}, licensing.Errorf(licensing.EUNAUTHORIZED, "API token %s expired at %s",
			prefix, t.ExpiresAt.UTC().Format(time.RFC3339)).WithHint("create a new token and log in with it")
	case t.Disabled && operator:
		return licensing.Principal{}, licensing.Errorf(licensing.EUNAUTHORIZED, "operator %s is disabled", t.Operator)
	case t.Disabled:
		return licensing.Principal{}, licensing.Errorf(licensing.EUNAUTHORIZED, "account %s is disabled", t.Email).
			WithHint("ask the vendor's support to enable it")
	}
	if since := now.Add(-tokenTouchEvery); t.LastUsed == nil || !t.LastUsed.After(since) {
		if err := a.store.TouchToken(ctx, operator, t.ID, now, since); err != nil {
			return licensing.Principal{}, err
		}
		a.tokens.touched(prefix, now)
	}
	if operator {
		return licensing.Principal{Kind: licensing.KindOperator, Operator: t.Operator, Scopes: t.Scopes,
			Token: prefix, ExpiresAt: t.ExpiresAt}, nil
	}
	return licensing.Principal{Kind: licensing.KindAccount, Email: t.Email, Scopes: t.Scopes, Token: prefix,
		ExpiresAt: t.ExpiresAt, Ref: accountRef{id: t.AccountID}}, nil
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
