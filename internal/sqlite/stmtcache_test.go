package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

func countLicenses(t *testing.T, s *Store, ctx context.Context) int {
	t.Helper()
	n := 0
	if err := services(s).ListLicenses(ctx, licensing.LicenseFilter{Limit: 50}, func(*licensing.License) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStmtCacheSeesOtherWriters: prepared statements cache the plan, never
// data: what another process commits, and a schema it changes, show at once.
func TestStmtCacheSeesOtherWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := Open(context.Background(), path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := services(a).Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := services(a).CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := countLicenses(t, a, ctx); n != 0 {
		t.Fatalf("%d licenses in a new store", n)
	}
	if a.stmts.len() == 0 {
		t.Fatal("the list did not go through the statement cache")
	}

	b, err := Open(context.Background(), path, Options{}) // "another process"
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := services(b).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 3}}}, nil); err != nil {
		t.Fatal(err)
	}
	if n := countLicenses(t, a, ctx); n != 3 {
		t.Fatalf("after another store bought 3: %d licenses", n)
	}
	if _, err := b.w.Exec("CREATE INDEX test_only ON licenses (purchase_email)"); err != nil {
		t.Fatal(err)
	}
	if n := countLicenses(t, a, ctx); n != 3 {
		t.Fatalf("after a schema change: %d licenses", n)
	}
}

// TestStmtCacheBounded: past maxCachedStmts distinct queries the cache stops
// growing and queries still run.
func TestStmtCacheBounded(t *testing.T) {
	s := openStore(t, nil)
	r := s.reader()
	ctx := context.Background()
	for i := range maxCachedStmts + 20 {
		var v int
		if err := r.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&v); err != nil || v != i {
			t.Fatalf("query %d: %v %d", i, err, v)
		}
	}
	if n := s.stmts.len(); n != maxCachedStmts {
		t.Fatalf("cache holds %d statements, want %d", n, maxCachedStmts)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := r.QueryRowContext(ctx, "SELECT 1").Scan(&v); err == nil {
		t.Fatal("a query on a closed store succeeded")
	}
}

// TestAuthenticateRevokedByAnotherProcess: a token revoked through another
// store handle (another process) is refused by a server's App within the
// token cache's second; one it revokes, or whose account it disables,
// is refused by the next request.
func TestAuthenticateRevokedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := Open(context.Background(), path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	server := services(a) // one App, as a server has
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := server.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	newToken := func() string {
		t.Helper()
		tok, err := server.CreateToken(ctx, licensing.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // warm the statement cache on several connections, and the token cache
			if p, err := server.Authenticate(context.Background(), tok.Secret); err != nil || p.Email != "a@example.com" {
				t.Fatalf("Authenticate = %q, %v", p.Email, err)
			}
		}
		return tok.Secret
	}
	refused := func(secret, what string) {
		t.Helper()
		if _, err := server.Authenticate(context.Background(), secret); licensing.ErrorCode(err) != licensing.EUNAUTHORIZED {
			t.Fatalf("%s: %v", what, err)
		}
	}

	secret := newToken()
	b, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := services(b).RevokeToken(ctx, secret[:len("lct_")+8]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // app.tokenCacheTTL, and a margin
	refused(secret, "revoked by another process a second ago")

	secret = newToken()
	if err := server.RevokeToken(ctx, secret[:len("lct_")+8]); err != nil {
		t.Fatal(err)
	}
	refused(secret, "revoked by this App")

	secret = newToken()
	if _, err := server.SetAccountDisabled(context.Background(), "a@example.com", true); err != nil {
		t.Fatal(err)
	}
	refused(secret, "its account disabled by this App")
}

// TestAuthenticateDoesNotWaitForWriters: refreshing last_used_at is best
// effort; a request is not held up while another process writes.
func TestAuthenticateDoesNotWaitForWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(context.Background(), path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := services(s).CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	tok, err := services(s).CreateToken(ctx, licensing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", dsn(path, "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin() // holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	start := time.Now()
	if p, err := services(s).Authenticate(context.Background(), tok.Secret); err != nil || p.Email != "a@example.com" {
		t.Fatalf("Authenticate while another process writes = %q, %v", p.Email, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Authenticate waited %v for the writer", d)
	}
}

// TestReadsOnEveryConnectionStillPrepare: when every connection of the read
// pool is held by a transaction running a query the cache has not prepared
// yet, none waits for a free connection to prepare it (the streaming lists
// of a busy server used to hang so).
func TestReadsOnEveryConnectionStillPrepare(t *testing.T) {
	s := openStore(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 4 // the read pool's connections
	var began sync.WaitGroup
	began.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- s.Read(ctx, func(tx app.Tx) error {
				began.Done()
				began.Wait() // every connection is taken
				_, err := tx.Product(ctx, "backup-desktop")
				return err
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if s.stmts.len() == 0 {
		t.Error("the query was not prepared after the transactions")
	}
}

// TestWriterStatementsCached: the writer's statements go through the
// statement cache too (prepared after the transaction that first ran
// them), and keep working - with the new schema - after another process
// changes it.
func TestWriterStatementsCached(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(context.Background(), path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := services(s)
	if _, err := svc.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := actingAs(t, s, "a@example.com")
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-vm", Quantity: 1, Billing: "monthly"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() {
		t.Helper()
		act, err := svc.Activate(a, licensing.ActivationRequest{LicenseKey: p.Licenses[0], Machine: "m", Fingerprint: "fp", OS: "windows", Version: "7.9.4"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Deactivate(a, licensing.DeactivateRequest{ID: act.ID}); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	deadline := time.Now().Add(10 * time.Second) // the statements are prepared in the background
	for s.stmts.lenOn(s.w) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.stmts.lenOn(s.w) == 0 {
		t.Fatal("no statement of the writer was cached")
	}
	other, err := Open(context.Background(), path, Options{}) // "another process"
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.w.Exec("ALTER TABLE activations ADD COLUMN test_only INTEGER NOT NULL DEFAULT 7"); err != nil {
		t.Fatal(err)
	}
	cycle()
	cycle()
	var used, acts, seven int
	if err := s.r.QueryRow("SELECT seats_used, (SELECT count(*) FROM activations), (SELECT count(*) FROM activations WHERE test_only = 7) FROM licenses").Scan(&used, &acts, &seven); err != nil {
		t.Fatal(err)
	}
	if used != 0 || acts != 0 {
		t.Fatalf("after the cycles: seats_used %d, %d activations", used, acts)
	}
	act, err := svc.Activate(a, licensing.ActivationRequest{LicenseKey: p.Licenses[0], Machine: "m", Fingerprint: "fp", OS: "windows", Version: "7.9.4"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRow("SELECT test_only FROM activations WHERE id = ?", act.ID).Scan(&seven); err != nil || seven != 7 {
		t.Fatalf("an insert through a cached statement after the schema change: test_only %d, %v", seven, err)
	}
}
