package httpapi

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

type (
	// tokenBody is licensing.TokenRequest on the wire: the lifetime in
	// whole seconds.
	tokenBody struct {
		Name      string   `json:"name,omitempty"`
		Scopes    []string `json:"scopes,omitempty"`
		ExpiresIn int64    `json:"expires_in,omitempty"`
	}
	createAccountBody struct {
		Email string `json:"email"`
	}
	disabledBody struct {
		Disabled bool `json:"disabled"`
	}
	createOperatorBody struct {
		Name string `json:"name"`
	}
	importBody struct {
		Products []licensing.Product `json:"products"`
		Builds   []buildBody         `json:"builds,omitempty"`
	}
	importResult struct {
		Imported int `json:"imported"`
		Builds   int `json:"builds"`
	}
)

// maxExpiresIn is the longest lifetime a time.Duration holds, in seconds:
// a longer one would wrap around (to a short or negative lifetime).
const maxExpiresIn = math.MaxInt64 / int64(time.Second)

func (b tokenBody) request() (licensing.TokenRequest, error) {
	if b.ExpiresIn > maxExpiresIn {
		return licensing.TokenRequest{}, licensing.Errorf(licensing.EINVALID, "token lifetime of %d seconds is too long: at most %d", b.ExpiresIn, maxExpiresIn).
			WithHint("leave expires_in out for a token that lives until revoked")
	}
	return licensing.TokenRequest{Name: b.Name, Scopes: b.Scopes, ExpiresIn: time.Duration(b.ExpiresIn) * time.Second}, nil
}

func tokenBodyOf(r licensing.TokenRequest) tokenBody {
	return tokenBody{Name: r.Name, Scopes: r.Scopes, ExpiresIn: int64(r.ExpiresIn / time.Second)}
}

// operatorRoutes are the vendor's endpoints: accounts, the catalog, the
// signing key, operators and look-ups across accounts.
func (s *Server) operatorRoutes() []route {
	return []route{
		{"GET /v1/accounts", op(licensing.ScopeLookup), withQuery(s, func(ctx context.Context, svc Backend, _ *http.Request) ([]licensing.Account, error) {
			return svc.ListAccounts(ctx)
		}), false},
		{"POST /v1/accounts", op(licensing.ScopeAccountsWrite), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, b createAccountBody, _ *http.Request) (*licensing.Account, error) {
				return svc.CreateAccount(ctx, b.Email)
			}), false},
		{"PATCH /v1/accounts/{email}", op(licensing.ScopeAccountsWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b disabledBody, r *http.Request) (*licensing.Account, error) {
				return svc.SetAccountDisabled(ctx, r.PathValue("email"), b.Disabled)
			}), false},
		{"POST /v1/products", op(licensing.ScopeCatalogWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b importBody, _ *http.Request) (importResult, error) {
				bs := make([]licensing.Build, len(b.Builds))
				for i, x := range b.Builds {
					bs[i] = x.build()
				}
				n, err := svc.ImportCatalog(ctx, b.Products, bs)
				if err != nil {
					return importResult{}, err
				}
				return importResult{Imported: n.Products, Builds: n.Builds}, nil
			}), false},
		{"POST /v1/signing-keys", op(licensing.ScopeKeysWrite), withOptionalBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, _ struct{}, _ *http.Request) (*licensing.SigningKey, error) {
				return svc.RotateSigningKey(ctx)
			}), false},

		{"GET /v1/operators", op(licensing.ScopeOperatorsWrite), withQuery(s, func(ctx context.Context, svc Backend, _ *http.Request) ([]licensing.Operator, error) {
			return svc.ListOperators(ctx)
		}), false},
		{"POST /v1/operators", op(licensing.ScopeOperatorsWrite), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, b createOperatorBody, _ *http.Request) (*licensing.Operator, error) {
				return svc.CreateOperator(ctx, b.Name)
			}), false},
		{"PATCH /v1/operators/{name}", op(licensing.ScopeOperatorsWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b disabledBody, r *http.Request) (*licensing.Operator, error) {
				return svc.SetOperatorDisabled(ctx, r.PathValue("name"), b.Disabled)
			}), false},
		{"GET /v1/operators/{name}/tokens", op(licensing.ScopeOperatorsWrite), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.Token, error) {
			return svc.ListOperatorTokens(ctx, r.PathValue("name"))
		}), false},
		// A new token's secret is never stored for replay.
		{"POST /v1/operators/{name}/tokens", op(licensing.ScopeOperatorsWrite), func(w http.ResponseWriter, r *http.Request) error {
			var b tokenBody
			if err := decodeBody(r, &b, true); err != nil {
				return err
			}
			req, err := b.request()
			if err != nil {
				return err
			}
			t, err := s.b.CreateOperatorToken(r.Context(), r.PathValue("name"), req)
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			return writeJSON(w, http.StatusCreated, t)
		}, false},
		{"DELETE /v1/operator-tokens/{prefix}", op(licensing.ScopeOperatorsWrite), func(w http.ResponseWriter, r *http.Request) error {
			if err := s.b.RevokeOperatorToken(r.Context(), r.PathValue("prefix")); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}, false},

		{"GET /v1/lookup/licenses/{key}", op(licensing.ScopeLookup), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) (*licensing.LicenseOwner, error) {
			return svc.FindLicense(ctx, r.PathValue("key"))
		}), false},
		{"GET /v1/lookup/purchases/{id}", op(licensing.ScopeLookup), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) (*licensing.PurchaseOwner, error) {
			return svc.FindPurchase(ctx, r.PathValue("id"))
		}), false},
	}
}

// whoami answers what the request's token is.
func whoami(ctx context.Context) licensing.Whoami {
	p, _ := licensing.PrincipalFrom(ctx)
	return licensing.Whoami{Kind: p.Kind, Email: licensing.AccountFrom(ctx), Operator: p.Operator,
		Scopes: p.Scopes, Token: p.Token, ExpiresAt: p.ExpiresAt, OnBehalfOf: licensing.OnBehalfOf(ctx) != ""}
}
