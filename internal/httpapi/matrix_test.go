package httpapi_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/httpapitest"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// Every route × every kind of caller against a real server on SQLite (the
// PostgreSQL store runs the same matrix in its own package).
func TestPermissionMatrix(t *testing.T) {
	ctx := context.Background()
	clock := contract.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := app.New(db, app.Options{Clock: clock})
	if _, err := store.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	httpapitest.RunMatrix(t, store, clock)
}

// Every route has an access rule someone can pass and names the commands
// that call it; docs/permissions.md is the table those rules make
// (UPDATE_GOLDEN=1 rewrites it).
func TestPermissionsDoc(t *testing.T) {
	perms := httpapi.NewServer(nil, httpapi.Options{}).Permissions()
	for _, p := range perms {
		if !p.Public && p.Account == "" && p.Operator == "" {
			t.Errorf("%s: no one may call it", p.Route)
		}
		if p.CLI == "" {
			t.Errorf("%s: no command named for it in cliOf", p.Route)
		}
	}
	want := PermissionsMarkdown(perms)
	path := filepath.Join("..", "..", "docs", "permissions.md")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/permissions.md is not the table the routes' access rules make; run UPDATE_GOLDEN=1 go test ./internal/httpapi -run TestPermissionsDoc")
	}
}

// PermissionsMarkdown renders the permission matrix.
func PermissionsMarkdown(perms []httpapi.Permission) string {
	var b strings.Builder
	b.WriteString(`# Permissions

Who may call each route of the API, generated from the server's route table
(the one place a permission is decided; ` + "`go test ./internal/httpapi -run TestPermissions`" + ` checks this
page and calls every route with every kind of caller, on SQLite and PostgreSQL).

Callers:

- **No token**: only the public routes; anything else is ` + "`401`" + `.
- **Account token** (` + "`lct_…`" + `, from ` + "`licensectl accounts token create [--scope S,..]`" + `): a route needs the
  scope shown, else ` + "`403 forbidden`" + ` naming it ("this token lacks the purchases:write scope", exit 4).
  A new token has every account scope unless ` + "`--scope`" + ` narrows it. An operator's route is ` + "`403`" + `.
  Another account's license, plan or token is ` + "`404`" + `, as if it did not exist. ` + "`--account`" + ` naming
  another account is ` + "`400`" + ` (exit 2).
- **Operator token** (` + "`lco_…`" + `, from ` + "`licensectl operators token create NAME [--scope S,..]`" + `), acting for no
  account: a route needs the operator scope shown; "for an account" means it is an account's data and
  needs ` + "`--account EMAIL`" + ` (` + "`400`" + ` without it, ` + "`403`" + ` without the ` + "`impersonate`" + ` scope).
- **Operator token with ` + "`--account EMAIL`" + `** (the ` + "`Licensectl-Account`" + ` header): with the ` + "`impersonate`" + `
  scope, every account route acts for that account exactly as the account's own default token would,
  and the audit log records ` + "`actor: operator NAME via api token lco_…`" + ` and ` + "`on_behalf_of: EMAIL`" + `;
  operator routes still need their own scope.

Expired tokens, and tokens of a disabled account or operator, are ` + "`401`" + ` with a message saying so.
On the server host (` + "`--backend local`" + `) every command may do everything: the store is the root of trust.

Account scopes: ` + scopeList(licensing.AccountScopes()) + `.
Operator scopes: ` + scopeList(licensing.OperatorScopes()) + `.

| Route | Commands | No token | Account token | Operator token | Operator token with --account |
|---|---|---|---|---|---|
`)
	for _, p := range perms {
		acct, op, behalf := "403", "for an account", "`impersonate`"
		switch {
		case p.Public:
			acct, op, behalf = "allowed", "allowed", "allowed"
		case p.Account == "*":
			acct = "allowed"
		case p.Account != "":
			acct = "`" + p.Account + "`"
		}
		switch {
		case p.Public:
		case p.Operator == "*":
			op = "allowed"
		case p.Operator != "":
			op = "`" + p.Operator + "`"
		}
		if !p.Public && p.Account == "" {
			behalf = "`impersonate` + `" + p.Operator + "`"
		}
		none := "401"
		if p.Public {
			none = "allowed"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", p.Route, strings.ReplaceAll(p.CLI, "|", "\\|"), none, acct, op, behalf)
	}
	return b.String()
}

func scopeList(s []licensing.Scope) string {
	return "`" + strings.Join(s, "`, `") + "`"
}
