package licensing

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckTokenRequest(t *testing.T) {
	got, err := CheckTokenRequest(TokenRequest{Name: "  CI ", Scopes: []Scope{" Validate", "activations:write", "validate"}}, AccountScopes())
	if err != nil || got.Name != "CI" || !slices.Equal(got.Scopes, []Scope{ScopeActivationsWrite, ScopeValidate}) {
		t.Errorf("normalized %+v, %v", got, err)
	}
	if got, err := CheckTokenRequest(TokenRequest{}, OperatorScopes()); err != nil || !slices.Equal(got.Scopes, OperatorScopes()) {
		t.Errorf("no scopes means all of the kind: %+v, %v", got, err)
	}
	if _, err := CheckTokenRequest(TokenRequest{Name: strings.Repeat("é", maxTokenName)}, AccountScopes()); err != nil {
		t.Errorf("64 two-byte characters are 64 characters: %v", err)
	}
	for _, bad := range []TokenRequest{
		{Name: strings.Repeat("é", maxTokenName+1)},
		{Name: "bad\xffutf8"},
		{Name: "line\nbreak"},
		{Scopes: []Scope{ScopeLookup}}, // an operator's scope on an account's token
		{Scopes: []Scope{"*"}},
		{ExpiresIn: -time.Minute},
		{ExpiresIn: 59 * time.Second},
	} {
		if _, err := CheckTokenRequest(bad, AccountScopes()); ErrorCode(err) != EINVALID {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
}

func TestMissingScopeNamesIt(t *testing.T) {
	acct := Principal{Kind: KindAccount, Email: "a@example.com", Scopes: []Scope{ScopeValidate}}
	if err := MissingScope(acct, ScopePurchasesWrite); ErrorCode(err) != EFORBIDDEN ||
		ErrorMessage(err) != "this token lacks the purchases:write scope" {
		t.Errorf("account: %v", err)
	}
	if err := MissingScope(acct, ScopeLookup); !strings.Contains(ErrorMessage(err), "needs an operator token with the lookup scope") {
		t.Errorf("an operator's scope asked of an account: %v", err)
	}
	op := Principal{Kind: KindOperator, Operator: "alice"}
	if err := MissingScope(op, ScopeKeysWrite); ErrorMessage(err) != "this token lacks the keys:write scope" ||
		!strings.Contains(ErrorHint(err), "operators token create alice --scope keys:write") {
		t.Errorf("operator: %v (%s)", err, ErrorHint(err))
	}
}
