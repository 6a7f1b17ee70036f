package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// TestListLicensesBody: the list endpoint's hand-encoded, buffered body is
// byte for byte what encoding/json makes of the store's licenses, for a small
// page (one write, with Content-Length), a list longer than the flush size
// (streamed), and an empty one.
func TestListLicensesBody(t *testing.T) {
	store, srv, tokenFor := newServer(t, licensing.SystemClock{}, Options{Rate: 1e9})
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateCompany(ctx, "Acme <&> \"Ltd\""); err != nil {
		t.Fatal(err)
	}
	for _, l := range []licensing.BuyLine{
		{Product: "backup-server", Quantity: 300},
		{Product: "mbs-server", Quantity: 300, Billing: licensing.BillingAnnual, Company: "Acme <&> \"Ltd\""},
	} {
		if _, err := store.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{l}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	token, err := tokenFor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query    string
		f        licensing.LicenseFilter
		streamed bool
	}{
		{"?limit=50", licensing.LicenseFilter{Limit: 50}, false},
		{"?sort=-expires_at", licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "expires_at", Desc: true}}}, true},
		{"?kind=trial", licensing.LicenseFilter{Kind: licensing.KindTrial}, false},
	} {
		var want []byte
		n := 0
		if err := store.ListLicenses(ctx, c.f, func(l *licensing.License) error {
			js, err := json.Marshal(l)
			if n == 0 {
				want = append(want, "[\n"...)
			} else {
				want = append(want, ",\n"...)
			}
			n++
			want = append(want, js...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			want = []byte("[]\n")
		} else {
			want = append(want, "\n]\n"...)
		}
		req, _ := http.NewRequest("GET", srv.URL+"/v1/licenses"+c.query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v %s", c.query, resp.StatusCode, err, body)
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("%s: body differs from encoding/json:\n got %.400s\nwant %.400s", c.query, body, want)
		}
		if cl := resp.Header.Get("Content-Length"); !c.streamed && cl != strconv.Itoa(len(want)) {
			t.Errorf("%s: Content-Length %q, want %d", c.query, cl, len(want))
		}
		if len(want) < 2*pageFlush && c.streamed {
			t.Fatalf("%s: %d bytes do not cover several flushes", c.query, len(want))
		}
	}
}
