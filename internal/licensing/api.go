package licensing

import (
	"context"
	"time"
)

// Token is an API token of an account. Secret is set only when the token is
// created: the store keeps its hash, never the token itself.
type Token struct {
	Secret    string     `json:"token,omitempty"`
	Prefix    string     `json:"prefix"`
	Account   string     `json:"account,omitempty"`  // an account's token
	Operator  string     `json:"operator,omitempty"` // an operator's token
	Name      string     `json:"name"`
	Scopes    []Scope    `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// TokenService issues, lists, revokes and checks API tokens of the acting account.
type TokenService interface {
	// CreateToken makes a token for the acting account with req's name,
	// scopes (none: every account scope) and lifetime.
	CreateToken(ctx context.Context, req TokenRequest) (*Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, prefix string) error
	// Authenticate returns the principal (an account, or an operator) a
	// token belongs to, or EUNAUTHORIZED for an unknown, revoked or expired
	// token, or one of a disabled account or operator. It needs no acting
	// account.
	Authenticate(ctx context.Context, secret string) (Principal, error)
}

// IdempotentResponse is a stored answer to a POST with an Idempotency-Key.
type IdempotentResponse struct {
	RequestHash string
	Status      int // 0 while the first request is still in flight
	Body        []byte
}

// IdempotencyService remembers POST responses per account and key, so a retry
// gets the original answer (the HTTP server's Idempotency-Key support).
type IdempotencyService interface {
	// BeginIdempotent reserves key for a request with this hash. It returns
	// the stored response when the key was used before (Status 0 means that
	// request is still in flight), or nil when the caller now owns the key.
	BeginIdempotent(ctx context.Context, key, requestHash string) (*IdempotentResponse, error)
	// FinishIdempotent stores the response of the request that owns key; a
	// failed request (status >= 500) releases the key for a retry instead.
	FinishIdempotent(ctx context.Context, key string, status int, body []byte) error
}
