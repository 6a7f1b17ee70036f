package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// POST /v1/renewal-runs never runs past the server's clock; with dry_run it
// previews any date, changing nothing, and the run made once that date has
// come charges what the preview showed.
func TestRenewalRunsNeverPastNow(t *testing.T) {
	clock := contract.NewClock(contract.Start())
	store, srv, tokenFor := newServer(t, clock, Options{Rate: 1e9})
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 2, Billing: licensing.BillingMonthly}}}, nil); err != nil {
		t.Fatal(err)
	}
	token, err := tokenFor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{srv: srv}
	later := contract.Start().AddDate(0, 6, 0).Format("2006-01-02T15:04:05Z")

	resp, body := fx.request(t, "POST", "/v1/renewal-runs", token, `{"as_of":"`+later+`"}`)
	wantProblem(t, resp, body, http.StatusBadRequest, licensing.EINVALID)
	var p Problem
	json.Unmarshal([]byte(body), &p)
	if p.Hint != "preview it with `licensectl renewals run --dry-run --as-of "+later+"`" {
		t.Errorf("hint %q", p.Hint)
	}

	resp, body = fx.request(t, "POST", "/v1/renewal-runs", token, `{"as_of":"`+later+`","dry_run":true}`)
	var preview licensing.RenewalRun
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &preview) != nil || !preview.DryRun ||
		preview.Renewed != 12 || preview.TotalCents != 12*999 || len(preview.Purchases) != 0 || len(preview.Accounts) != 1 {
		t.Fatalf("dry run: %d %s", resp.StatusCode, body)
	}
	if evs, _ := store.ListAudit(ctx, licensing.AuditFilter{Action: "renewal."}); len(evs) != 0 {
		t.Fatalf("the refused run and the dry run recorded %d renewals", len(evs))
	}

	clock.Set(contract.Start().AddDate(0, 6, 0))
	resp, body = fx.request(t, "POST", "/v1/renewal-runs", token, `{"as_of":"`+later+`"}`)
	var run licensing.RenewalRun
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &run) != nil || run.DryRun ||
		run.TotalCents != preview.TotalCents || run.Renewed != preview.Renewed || len(run.Purchases) != 1 {
		t.Fatalf("run: %d %s", resp.StatusCode, body)
	}
}
