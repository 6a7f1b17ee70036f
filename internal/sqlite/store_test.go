package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/app/storetest"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/paymenttest"
	"github.com/licensectl/licensectl/internal/webhook"
)

// openStore opens a new seeded store in a temporary directory.
func openStore(t testing.TB, clock licensing.Clock) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "licensectl.db"), Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := services(s).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// services returns the use cases over a store, as the CLI and server get them.
func services(s *Store) *app.App { return app.New(s, app.Options{Clock: s.Clock()}) }

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		return services(openStore(t, clock))
	})
}

// dirState lists a directory's files with their contents.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	ctx := context.Background()
	random := make([]byte, 8192)
	rand.Read(random)
	for name, make := range map[string]func(path string){
		"random bytes": func(path string) { os.WriteFile(path, random, 0o600) },
		"short text":   func(path string) { os.WriteFile(path, []byte("hello\n"), 0o600) },
		"foreign sqlite database": func(path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "other.db")
			make(path)
			before := dirState(t, dir)
			for _, create := range []bool{false, true} {
				_, err := Open(ctx, path, Options{Create: create})
				if licensing.ErrorCode(err) != licensing.EINVALID || licensing.ErrorMessage(err) != path+" is not a licensectl store" {
					t.Fatalf("Open(create=%v) = %v", create, err)
				}
			}
			// Byte for byte, and no -wal, -shm or temporary file beside it.
			if after := dirState(t, dir); !mapsEqual(before, after) {
				t.Errorf("Open changed the directory: %d files before, %d after", len(before), len(after))
			}
		})
	}

	dir := t.TempDir()
	_, err := Open(ctx, dir, Options{Create: true})
	if licensing.ErrorCode(err) != licensing.EINVALID || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Open(directory) = %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOpenMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "deeper", "licensectl.db")
	_, err := Open(ctx, path, Options{})
	if licensing.ErrorCode(err) != licensing.ENOTFOUND || !strings.Contains(licensing.ErrorHint(err), "licensectl init") {
		t.Fatalf("Open(missing) = %v (hint %q)", err, licensing.ErrorHint(err))
	}
	if _, err := os.Stat(filepath.Join(dir, "nested")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open without Create made something: %v", err)
	}

	// Create makes the store, not the directories a mistyped path names.
	if _, err := Open(ctx, path, Options{Create: true}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(Create) in a missing directory = %v, want a not-exist error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nested")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(Create) in a missing directory made something: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, p := range []string{path} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: a store is private", p, perm)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("creating left %d files behind", len(entries))
	}

	// An empty file is a store not yet made.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	_, err = Open(ctx, empty, Options{})
	if licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("Open(empty file) = %v", err)
	}
	s, err = Open(ctx, empty, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v < 1 {
		t.Errorf("SchemaVersion of a store made over an empty file = %d, %v", v, err)
	}
}

func TestOddPaths(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dir with spaces?#%", "store?.db")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store not at its path: %v", err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestReopenAndSeedAgain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	s, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	n, err := services(s).Seed(ctx)
	if err != nil || n != len(licensing.DefaultCatalog()) {
		t.Fatalf("first Seed = %d, %v", n, err)
	}
	if _, err := services(s).ImportProducts(ctx, []licensing.Product{{SKU: "backup-desktop", Name: "Backup Desktop", Term: licensing.TermPerpetual, PriceCents: 123}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for range 2 {
		s, err = Open(ctx, path, Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := services(s).Seed(ctx); err != nil || n != 0 {
			t.Fatalf("Seed again = %d, %v", n, err)
		}
		p, err := services(s).FindProduct(ctx, "backup-desktop")
		if err != nil || p.PriceCents != 123 {
			t.Fatalf("Seed overwrote an imported price: %+v, %v", p, err)
		}
		v, err := s.SchemaVersion(ctx)
		latest, _ := latestVersion()
		if err != nil || v != latest {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
		}
		var rows, uv, appID int
		s.r.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&rows)
		s.r.QueryRow("PRAGMA user_version").Scan(&uv)
		s.r.QueryRow("PRAGMA application_id").Scan(&appID)
		if rows != latest || uv != latest || appID != ApplicationID {
			t.Errorf("schema_migrations rows %d, user_version %d, application_id %#x", rows, uv, appID)
		}
		var mode string
		s.w.QueryRow("PRAGMA journal_mode").Scan(&mode)
		if mode != "wal" {
			t.Errorf("journal_mode = %s", mode)
		}
		s.Close()
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	s, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("INSERT INTO schema_migrations VALUES (99, 0); PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path, Options{})
	if licensing.ErrorCode(err) != licensing.EINVALID || !strings.Contains(err.Error(), "store schema version 99 is newer") {
		t.Fatalf("Open(newer store) = %v", err)
	}
}

func TestReaderIsReadOnly(t *testing.T) {
	s := openStore(t, nil)
	if _, err := s.r.Exec("DELETE FROM products"); err == nil {
		t.Fatal("the read pool wrote")
	}
}

// actingAs creates an account and returns a context acting as it.
func actingAs(t testing.TB, s *Store, email string) context.Context {
	t.Helper()
	if _, err := services(s).CreateAccount(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	return licensing.WithAccount(context.Background(), email)
}

func countRows(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBuyIsOneTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("buys 100,000 licenses")
	}
	s := openStore(t, nil)
	a := actingAs(t, s, "a@example.com")
	big := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: licensing.MaxQuantity, Billing: licensing.BillingAnnual}}}

	ctx, cancel := context.WithCancel(a)
	var reports []int
	_, err := services(s).Buy(ctx, big, func(done int) {
		reports = append(reports, done)
		if done == 50000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Buy = %v", err)
	}
	for _, table := range []string{"licenses", "purchases", "purchase_items", "billing_modes"} {
		if n := countRows(t, s, table); n != 0 {
			t.Errorf("cancelled Buy left %d rows in %s", n, table)
		}
	}
	if evs, _ := services(s).ListAudit(a, licensing.AuditFilter{Action: "purchase."}); len(evs) != 0 {
		t.Errorf("cancelled Buy left audit events: %+v", evs)
	}

	reports = nil
	p, err := services(s).Buy(a, big, func(done int) { reports = append(reports, done) })
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Licenses) != licensing.MaxQuantity || countRows(t, s, "licenses") != licensing.MaxQuantity {
		t.Errorf("bought %d licenses, stored %d", len(p.Licenses), countRows(t, s, "licenses"))
	}
	if len(reports) != licensing.MaxQuantity/app.ProgressEvery || !slices.IsSorted(reports) || reports[len(reports)-1] != licensing.MaxQuantity {
		t.Errorf("progress reports: %d, last %d", len(reports), reports[len(reports)-1])
	}
	var keys int
	s.r.QueryRow("SELECT count(DISTINCT key) FROM licenses").Scan(&keys)
	if keys != licensing.MaxQuantity {
		t.Errorf("%d distinct keys", keys)
	}
}

func TestProgressReportsTheRest(t *testing.T) {
	s := openStore(t, nil)
	a := actingAs(t, s, "a@example.com")
	var reports []int
	if _, err := services(s).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 2500}}},
		func(done int) { reports = append(reports, done) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reports, []int{1000, 2000, 2500}) {
		t.Errorf("progress = %v", reports)
	}
}

// TestConcurrentWriters buys from two stores on one file at once, as two
// licensectl processes would: BEGIN IMMEDIATE and the busy timeout serialise
// them without "database is locked" errors.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	first, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	services(first).Seed(ctx)
	a := actingAs(t, first, "a@example.com")
	second, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for _, s := range []*Store{first, second, first, second} {
		wg.Go(func() {
			for range 10 {
				_, err := services(s).Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 50}}}, nil)
				errs <- err
				if err := services(s).ListLicenses(a, licensing.LicenseFilter{Limit: 5}, func(*licensing.License) error { return nil }); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, first, "licenses"); n != 4*10*50 {
		t.Errorf("%d licenses, want %d", n, 4*10*50)
	}
}

// TestListQueryPlans checks that lists are served by the index meant for
// them, never by a scan of every account's licenses: a condition's own index
// when there is one, else the sort field's, which then needs no sort step.
func TestListQueryPlans(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, nil)
	a := actingAs(t, s, "a@example.com")
	if _, err := services(s).CreateCompany(a, "Acme"); err != nil {
		t.Fatal(err)
	}
	var acct int64
	if err := s.r.QueryRowContext(ctx, "SELECT id FROM accounts WHERE email = 'a@example.com'").Scan(&acct); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f     licensing.LicenseFilter
		index string
		// ordered: the index that finds the rows also gives their order.
		ordered bool
	}{
		{licensing.LicenseFilter{}, "licenses_account", true},
		{licensing.LicenseFilter{Sort: sortBy("key")}, "licenses_account_key", true},
		{licensing.LicenseFilter{Sort: sortBy("-expires_at")}, "licenses_account_expires", true},
		{licensing.LicenseFilter{Sort: sortBy("purchase_id"), Limit: 50, Offset: 100}, "licenses_account_purchase", true},
		{licensing.LicenseFilter{Validity: licensing.ValidityValid, Sort: sortBy("allow_rm")}, "licenses_account_allow_rm", true},
		{licensing.LicenseFilter{Company: "Acme"}, "licenses_account_company", true},
		{licensing.LicenseFilter{Product: "mbs-server", Sort: sortBy("expires_at")}, "licenses_account_product", false},
		{licensing.LicenseFilter{Company: "Acme", Sort: sortBy("-key")}, "licenses_account_company", false},
		{licensing.LicenseFilter{Pool: true, Sort: sortBy("allow_rm")}, "licenses_account_company", false},
		{licensing.LicenseFilter{Kind: licensing.KindTrial, Validity: licensing.ValidityValid, Sort: sortBy("created_at")}, "licenses_account_kind", false},
		{licensing.LicenseFilter{AutoRenew: true, Sort: sortBy("company")}, "licenses_account_auto_renew", false},
		{licensing.LicenseFilter{Usage: licensing.UsageUsed, Sort: sortBy("validity")}, "licenses_account_seats_used", false},
		{licensing.LicenseFilter{Maintenance: licensing.MaintenanceActive, Sort: sortBy("purchase_id"), Limit: 50}, "licenses_account_maintenance", false},
		{licensing.LicenseFilter{Validity: licensing.ValidityExpired, Sort: sortBy("key")}, "licenses_account_expires", false},
		{licensing.LicenseFilter{Search: "acme", Sort: sortBy("product,-created_at")}, "licenses_account_product", false},
	} {
		query, args, err := licenseQuery(ctx, s, acct, &c.f, 1)
		if err != nil {
			t.Fatal(err)
		}
		plan := explain(t, s, query, args)
		if !slices.ContainsFunc(plan, func(step string) bool {
			return strings.HasPrefix(step, "SEARCH l USING INDEX "+c.index+" ")
		}) {
			t.Errorf("%+v: want licenses found by %s: %v", c.f, c.index, plan)
		}
		if c.ordered && slices.ContainsFunc(plan, func(step string) bool { return strings.Contains(step, "TEMP B-TREE") }) {
			t.Errorf("%+v: want the order from %s, not a sort: %v", c.f, c.index, plan)
		}
	}
}

// licenseQuery is the SQL that lists the account's licenses matching f at
// now.
func licenseQuery(ctx context.Context, s *Store, acct int64, f *licensing.LicenseFilter, now int64) (query string, args []any, err error) {
	err = s.Read(ctx, func(t app.Tx) error {
		q, err := app.NewLicenseQuery(ctx, t, acct, *f, app.Unix(now))
		if err != nil {
			return err
		}
		query, args, err = listSQL(q)
		return err
	})
	return query, args, err
}

func sortBy(s string) []licensing.SortField {
	f, err := licensing.ParseSort(s)
	if err != nil {
		panic(err)
	}
	return f
}

func explain(t testing.TB, s *Store, query string, args []any) []string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

func TestDSNEscapesThePath(t *testing.T) {
	got := dsn("/tmp/a b/c?d#e%f.db", "x=1")
	if want := "file:/tmp/a%20b/c%3Fd%23e%25f.db?x=1"; got != want {
		t.Errorf("dsn = %q, want %q", got, want)
	}
}

func TestParseLicenseRow(t *testing.T) {
	good := "K\x1fbackup-desktop\x1fBackup Desktop\x1fcommercial\x1fperpetual\x1f\x1fP-1\x1fa@b.c\x1f1\x1f0\x1f\x1f1700000000\x1f1\x1f0\x1f1600000000\x1f"
	l, err := parseLicense(good)
	if err != nil {
		t.Fatal(err)
	}
	if l.Company != nil || l.ExpiresAt != nil || l.MaintenanceTill == nil || l.MaintenanceTill.Unix() != 1700000000 ||
		!l.AllowRM || l.AutoRenew || l.Seats != 1 || l.CreatedAt.Unix() != 1600000000 || l.ProductName != "Backup Desktop" ||
		l.RevokedAt != nil {
		t.Errorf("parseLicense = %+v", l)
	}
	if r, err := parseLicense(good + "1700000001"); err != nil || r.RevokedAt == nil || r.RevokedAt.Unix() != 1700000001 {
		t.Errorf("parseLicense(revoked) = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "K\x1fbackup-desktop", good + "\x1fextra", strings.Replace(good, "\x1f1\x1f0\x1f", "\x1fyes\x1f0\x1f", 1)} {
		if _, err := parseLicense(bad); err == nil {
			t.Errorf("parseLicense(%q) accepted", bad)
		}
	}
}

func TestReadOne(t *testing.T) { storetest.ReadOne(t, openStore(t, nil)) }

func TestPaymentsContract(t *testing.T) {
	contract.RunPayments(t, func(t *testing.T, clock licensing.Clock, pay *paymenttest.Double) contract.Paid {
		s := openStore(t, clock)
		svc := app.New(s, app.Options{Clock: s.Clock(), Payments: pay})
		return contract.Paid{Services: svc, Operator: svc, Deliver: func(payload []byte, sig string) error {
			return svc.HandlePaymentEvent(context.Background(), payload, sig)
		}}
	})
}

// A refund of more licenses than SQLite takes variables in one statement
// (32,766): the store works through them 1,000 at a time.
func TestRefundPastTheVariableLimit(t *testing.T) {
	svc := services(openStore(t, nil))
	ctx := context.Background()
	if _, err := svc.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 40000}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.RefundPurchase(a, licensing.RefundRequest{PurchaseID: p.ID})
	if err != nil || len(r.Licenses) != 40000 || r.TotalCents != -40000*4999 {
		t.Fatalf("refund of 40,000: %v", err)
	}
}

// The webhooks suite: the dispatcher over the store; a second store on the
// same file is the other replica.
func TestWebhooksContract(t *testing.T) {
	contract.RunWebhooks(t, func(t *testing.T, clock licensing.Clock) contract.Hooked {
		s := openStore(t, clock)
		hooks := webhook.NewSender(webhook.Options{AllowPrivate: true})
		svc := app.New(s, app.Options{Clock: s.Clock(), Webhooks: hooks})
		other, err := Open(context.Background(), s.Path(), Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		replica := app.New(other, app.Options{Clock: clock, Webhooks: hooks})
		return contract.Hooked{Services: svc, Dispatch: svc.DispatchWebhooks, Replica: replica.DispatchWebhooks}
	})
}
