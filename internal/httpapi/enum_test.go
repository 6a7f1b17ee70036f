package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// The server reads enumerated query parameters as the CLI reads its flags:
// any case, "all" for no filter, and a bad value names the accepted ones.
func TestQueryEnumsAnyCase(t *testing.T) {
	store, srv, tokenFor := newServer(t, licensing.SystemClock{}, Options{Rate: 1e9})
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, req := range []licensing.BuyRequest{
		{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 2}}},
		{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 1}}, Trial: true},
	} {
		if _, err := store.Buy(ctx, req, nil); err != nil {
			t.Fatal(err)
		}
	}
	token, err := tokenFor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	get := func(query url.Values) (int, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/licenses?"+query.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	for _, c := range []struct {
		query url.Values
		want  int
	}{
		{url.Values{"kind": {"Trial"}}, 1},
		{url.Values{"kind": {"all"}, "validity": {"ALL"}, "usage": {"All"}, "status": {"all"}, "maintenance": {"all"}}, 3},
		{url.Values{"status": {"Not Activated"}, "kind": {"COMMERCIAL"}}, 2},
		{url.Values{"sort": {"PRODUCT,-Expires_At"}}, 3},
	} {
		status, body := get(c.query)
		var ls []licensing.License
		if err := json.Unmarshal(body, &ls); status != http.StatusOK || err != nil || len(ls) != c.want {
			t.Errorf("%s: %d, %d licenses (%v): %s", c.query.Encode(), status, len(ls), err, body)
		}
	}
	status, body := get(url.Values{"usage": {"sometimes"}})
	var p Problem
	if err := json.Unmarshal(body, &p); status != http.StatusBadRequest || err != nil ||
		!strings.Contains(p.Detail, `invalid usage "sometimes": want used, unused or all`) {
		t.Errorf("bad usage: %d %s", status, body)
	}
}
