package postgres

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// A SQLite store with maintenance plans, renewals and attach requests copies
// whole: plans, the renewal record (a second run renews nothing), and a
// pending attach whose emailed code still works after the move.
func TestCopyMaintenanceAndAttach(t *testing.T) {
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
	for _, e := range []string{"a@example.com", "b@example.com"} {
		if _, err := services(src).CreateAccount(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	a, b := licensing.WithAccount(ctx, "a@example.com"), licensing.WithAccount(ctx, "b@example.com")
	p, err := services(src).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 2}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := services(src).BuyMaintenance(a, licensing.MaintenanceBuyRequest{Key: p.Licenses[0]}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := services(src).BuyMaintenance(a, licensing.MaintenanceBuyRequest{Unassigned: true, Product: "backup-server", Quantity: 30}, nil); err != nil {
		t.Fatal(err)
	}
	clock.Add(366 * 24 * time.Hour)
	if _, err := services(src).RunRenewals(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(t.TempDir(), "outbox")
	mailer := &mail.Outbox{Dir: outbox, From: "licensectl@example.org", Clock: clock}
	if _, err := services(src).RequestAttach(b, licensing.AttachRequest{Key: p.Licenses[1]}, mailer); err != nil {
		t.Fatal(err)
	}
	code := onlyCode(t, outbox)

	_, url, drop := pgtest.NewSchema("lct_test")
	t.Cleanup(func() { drop() })
	dst := openURL(t, url, clock, true)
	snap, err := src.BeginSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Rollback()
	if _, err := dst.CopyFromSQLite(ctx, snap, nil); err != nil {
		t.Fatal(err)
	}

	for _, f := range []licensing.MaintenanceFilter{{}, {Available: true}} {
		want, _ := services(src).ListMaintenance(a, f)
		got, err := services(dst).ListMaintenance(a, f)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ListMaintenance(%+v) = %+v, %v; want %+v", f, got, err, want)
		}
	}
	if run, err := services(dst).RunRenewals(ctx, clock.Now()); err != nil || run.Renewed != 0 {
		t.Errorf("a second renewals run after the copy = %+v, %v; want nothing renewed", run, err)
	}
	// The copy moved the plans' sequence on: new plans list after the old.
	if _, err := services(dst).BuyMaintenance(a, licensing.MaintenanceBuyRequest{Unassigned: true, Product: "backup-server", Quantity: 2}, nil); err != nil {
		t.Fatalf("buy plans after the copy: %v", err)
	}
	res, err := services(dst).ConfirmAttach(b, code)
	if err != nil || len(res.Licenses) != 1 || res.Licenses[0] != p.Licenses[1] {
		t.Fatalf("confirm the copied attach: %+v, %v", res, err)
	}
}

// onlyCode reads the confirmation code out of the one message in outbox.
func onlyCode(t *testing.T, outbox string) string {
	t.Helper()
	entries, err := os.ReadDir(outbox)
	if err != nil || len(entries) != 1 {
		t.Fatalf("outbox holds %d messages (%v), want 1", len(entries), err)
	}
	raw, err := os.ReadFile(filepath.Join(outbox, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Confirmation code: ([0-9A-Z]{5}-[0-9A-Z]{5})`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no code in the message:\n%s", raw)
	}
	return string(m[1])
}
