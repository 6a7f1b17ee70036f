package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/migration"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
)

// A store made before names were folded is upgraded in place, as the SQLite
// store is (TestUnicodeNamesMigration there): the migration's Go step fills
// in the folded company and machine names, and companies that only fold
// alike both stay reachable by their exact names.
func TestUnicodeNamesMigration(t *testing.T) {
	ctx := context.Background()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, m := range ms {
		if migration.Topic(m.Name) == "unicode_names" {
			before = m.Version - 1
		}
	}
	if before == 0 {
		t.Fatal("no unicode_names migration")
	}
	schema, url, drop := pgtest.NewSchema("lct_test")
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	clock := contract.NewClock(contract.Start())
	if err := migrateTo(ctx, pool, schema, true, clock, before); err != nil {
		pool.Close()
		t.Fatal(err)
	}
	now := contract.Start().Unix()
	for _, q := range []string{
		`INSERT INTO accounts (id, email, created_at) VALUES (1, 'a@example.com', $1)`,
		`INSERT INTO companies (id, account_id, name, created_at) VALUES (1, 1, 'Zürich AG', $1), (2, 1, 'ZÜRICH AG', $1), (3, 1, 'Acme', $1)`,
		`INSERT INTO products (sku, name, term, price_cents, platforms) VALUES ('backup-server', 'Backup Server', 'perpetual', 11999, 'windows')`,
		`INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash, total_cents, currency, billing, created_at)
			VALUES ('P-1', 1, 'a@example.com', 'k', 'h', 0, 'USD', 'one_time', $1)`,
		`INSERT INTO licenses (id, key, account_id, product, kind, term, company_id, purchase_id, purchase_email, seats, seats_used, created_at)
			VALUES (1, 'K1', 1, 'backup-server', 'commercial', 'perpetual', 1, 'P-1', 'a@example.com', 1, 1, $1),
			       (2, 'K2', 1, 'backup-server', 'commercial', 'perpetual', 2, 'P-1', 'a@example.com', 1, 0, $1)`,
		`INSERT INTO activations (license_id, machine, fingerprint, os, version, mode, activated_at, last_seen_at)
			VALUES (1, 'Büro-PC', 'fp', 'windows', '7.9', 'online', $1, $1)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, now)
		}
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			pool.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	pool.Close()

	s := openURL(t, url, clock, false)
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(ms))
	}
	if n := count(t, s, "SELECT ((SELECT count(*) FROM companies WHERE name_folded IS NULL) + (SELECT count(*) FROM activations WHERE machine_folded IS NULL))::int"); n != 0 {
		t.Errorf("%d names left unfolded", n)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	keys := func(f licensing.LicenseFilter) []string {
		var out []string
		if err := services(s).ListLicenses(a, f, func(l *licensing.License) error { out = append(out, l.Key); return nil }); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		return out
	}
	for _, c := range []struct {
		f    licensing.LicenseFilter
		want string
	}{
		{licensing.LicenseFilter{Company: "zürich ag"}, "K1"}, // the older of the two folds alike
		{licensing.LicenseFilter{Company: "ZÜRICH AG"}, "K2"}, // the newer one by its exact name
		{licensing.LicenseFilter{Search: "BÜRO"}, "K1"},       // a machine name, folded
		{licensing.LicenseFilter{Company: "Zürich AG"}, "K1"}, // the older one by its exact name
	} {
		if got := keys(c.f); len(got) != 1 || got[0] != c.want {
			t.Errorf("%+v: %v, want %s", c.f, got, c.want)
		}
	}
	if got := keys(licensing.LicenseFilter{Search: "ZÜRICH"}); len(got) != 2 {
		t.Errorf("search ZÜRICH: %v, want both companies' licenses", got)
	}
	if list, err := services(s).ListActivations(a, licensing.ActivationFilter{Machine: "BÜRO-PC"}); err != nil || len(list) != 1 {
		t.Errorf("activations of BÜRO-PC = %+v, %v", list, err)
	}
	if _, err := services(s).CreateCompany(a, "ACME"); licensing.ErrorCode(err) != licensing.ECONFLICT {
		t.Errorf("CreateCompany(ACME) after the upgrade: %v", err)
	}
	if _, err := services(s).CreateCompany(a, "zürich ag"); licensing.ErrorCode(err) != licensing.ECONFLICT {
		t.Errorf("CreateCompany(zürich ag) after the upgrade: %v", err)
	}
	if cs, err := services(s).ListCompanies(a); err != nil || len(cs) != 3 {
		t.Errorf("companies after the upgrade: %+v, %v", cs, err)
	}
}
