package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// TestCopyFromSQLite100k copies a store of 100,000+ licenses, checks the
// copy answers exactly like the original, and that a cancelled copy leaves
// the destination empty.
func TestCopyFromSQLite100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 licenses: not with -short")
	}
	ctx := context.Background()
	clock := contract.NewClock(contract.Start())
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "src.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := services(src).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(services(src).CreateAccount(ctx, "a@example.com"))
	must(services(src).CreateCompany(a, "Acme"))
	buy := func(req licensing.BuyRequest) *licensing.Purchase {
		t.Helper()
		p, err := services(src).Buy(a, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The full size under CI (or LICENSECTL_TEST_FULL=1); a quarter of it
	// in a plain `go test ./...`.
	bigN := 100_000
	if os.Getenv("CI") == "" && os.Getenv("LICENSECTL_TEST_FULL") == "" {
		bigN = 25_000
	}
	big := licensing.BuyRequest{IdempotencyKey: "big", Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: bigN}}}
	bigP := buy(big)
	clock.Add(time.Hour)
	buy(licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-vm", Quantity: 3, Billing: "annual", Company: "acme"}}})
	buy(licensing.BuyRequest{Trial: true, Lines: []licensing.BuyLine{{Product: "mbs-desktop", Quantity: 1}}})
	buy(licensing.BuyRequest{PurchaseEmail: "later@example.com", Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 2}}})
	on := true
	must(services(src).UpdateLicense(a, bigP.Licenses[7], licensing.LicenseUpdate{AllowRM: &on}))
	tok, err := services(src).CreateToken(a, licensing.TokenRequest{})
	must(tok, err)
	must(services(src).BeginIdempotent(a, "http-1", "h"))
	if err := services(src).FinishIdempotent(a, "http-1", 201, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}

	_, url, drop := pgtest.NewSchema("lct_test")
	t.Cleanup(func() { drop() })
	dst := openURL(t, url, clock, true)

	// Cancelled half-way through the licenses: nothing stays behind.
	cctx, cancel := context.WithCancel(ctx)
	snap, err := src.BeginSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dst.CopyFromSQLite(cctx, snap, func(table string, n int64) {
		if table == "licenses" && n >= int64(bigN/2) {
			cancel()
		}
	})
	snap.Rollback()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled copy: %v", err)
	}
	if n := count(t, dst, "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM licenses)"); n != 0 {
		t.Fatalf("cancelled copy left %d rows", n)
	}

	snap, err = src.BeginSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Rollback()
	start := time.Now()
	report, err := dst.CopyFromSQLite(ctx, snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %d rows in %v, checksum %s", report.Rows, time.Since(start).Round(time.Millisecond), report.Checksum)
	rows := map[string]int64{}
	for _, tc := range report.Tables {
		rows[tc.Table] = tc.Rows
	}
	if rows["licenses"] != int64(bigN)+6 || rows["accounts"] != 1 || rows["api_tokens"] != 1 || rows["idempotency_keys"] != 1 || len(report.Checksum) != 64 {
		t.Errorf("report %+v", report)
	}

	// The copy answers as the original does.
	list := func(s licensing.Services) []licensing.License {
		var out []licensing.License
		if err := s.ListLicenses(a, licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "created_at", Desc: true}}},
			func(l *licensing.License) error { out = append(out, *l); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := list(services(dst)), list(services(src)); !reflect.DeepEqual(got, want) {
		t.Errorf("licenses differ: %d vs %d", len(got), len(want))
	}
	for _, svc := range []licensing.Services{services(src), services(dst)} {
		d, err := svc.GetLicense(a, bigP.Licenses[7])
		if err != nil || !d.AllowRM {
			t.Errorf("GetLicense: %+v, %v", d, err)
		}
	}
	if p, err := services(dst).Authenticate(ctx, tok.Secret); err != nil || p.Email != "a@example.com" {
		t.Errorf("Authenticate after copy: %q, %v", p.Email, err)
	}
	if r, err := services(dst).BeginIdempotent(a, "http-1", "h"); err != nil || r == nil || r.Status != 201 {
		t.Errorf("idempotency record after copy: %+v, %v", r, err)
	}
	p, err := services(dst).Buy(a, big, nil)
	if err != nil || !p.Replayed || p.ID != bigP.ID || len(p.Licenses) != bigN || p.Licenses[bigN-1] != bigP.Licenses[bigN-1] {
		t.Errorf("replay after copy: %v", err)
	}
	// Ids continue after the copied ones.
	if _, err := services(dst).CreateAccount(ctx, "later@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dst, "SELECT count(*) FROM licenses l JOIN accounts a ON a.id = l.account_id WHERE a.email = 'later@example.com'"); n != 2 {
		t.Errorf("gift attached %d licenses, want 2", n)
	}

	// A second copy into the now non-empty store is refused.
	if _, err := dst.CopyFromSQLite(ctx, snap, nil); licensing.ErrorCode(err) != licensing.ECONFLICT {
		t.Errorf("copy into a non-empty store: %v", err)
	}
}
