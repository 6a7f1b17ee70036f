package httpapi

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// oapiCodegen is the generator of the client, pinned; go run caches its
// build, so a warm run costs a second or two.
const oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"

// A client generated from docs/openapi.yaml by oapi-codegen, never edited by
// hand, compiles and runs a customer's scenario (testdata/genclient/main.go)
// against the real server, itself checked against the document: buy (and
// the same purchase replayed), list with filters, activate, validate,
// deactivate, buy maintenance, request an attach, and a refusal read as the
// document's problem.
func TestGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: the generated client is built with the go command (a few seconds warm, the network when cold)")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the generated client: %v", err)
	}
	doc, err := filepath.Abs("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "main.go", "oapi-codegen.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "genclient", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gocmd := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := gocmd("run", oapiCodegen, "-config", "oapi-codegen.yaml", doc); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}

	store, srv, tokenFor := newServer(t, licensing.SystemClock{}, Options{Rate: 1e9})
	a := licensing.WithAccount(context.Background(), "a@example.com")
	b := licensing.WithAccount(context.Background(), "b@example.com")
	var tokens []string
	for _, acct := range []context.Context{a, b} {
		if _, err := store.CreateAccount(acct, licensing.AccountFrom(acct)); err != nil {
			t.Fatal(err)
		}
		tok, err := tokenFor(acct)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	out, err := gocmd("run", ".", "-url", srv.URL, "-token-a", tokens[0], "-token-b", tokens[1], "-gift-email", "gift@example.com")
	t.Logf("the generated client's scenario:\n%s", out)
	if err != nil {
		t.Fatalf("the scenario failed: %v", err)
	}
	for _, step := range []string{"account: a@example.com", "buy again: replayed", "list: 2 commercial, not activated",
		"validate: VALID", "validate after deactivate: NO_MACHINE", "maintenance buy: ", "attach request: ", "activate on beos: invalid"} {
		if !strings.Contains(out, step) {
			t.Errorf("no %q in the scenario's output", step)
		}
	}

	// What the scenario did is in the store.
	if acts, err := store.ListActivations(a, licensing.ActivationFilter{}); err != nil || len(acts) != 0 {
		t.Errorf("activations after the scenario: %v %v", acts, err)
	}
	if plans, err := store.ListMaintenance(a, licensing.MaintenanceFilter{}); err != nil || len(plans) != 1 || plans[0].Status != licensing.MaintenanceActive {
		t.Errorf("maintenance plans after the scenario: %+v %v", plans, err)
	}
	if evs, err := store.ListAudit(b, licensing.AuditFilter{Action: "attach.request"}); err != nil || len(evs) != 1 {
		t.Errorf("attach requests of b: %+v %v", evs, err)
	}
}
