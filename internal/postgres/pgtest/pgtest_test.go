package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/postgres"
)

// The private-cluster path for real: with LICENSECTL_TEST_POSTGRES=private
// Find makes a throw-away cluster from the installed server binaries (as
// the postgres user when run as root), a store opens on it and answers, and
// Close stops the cluster and removes its directory. Slow (initdb): only
// where the binaries are installed.
func TestPrivateCluster(t *testing.T) {
	if _, _, err := binaries(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	t.Setenv(Env, "private")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Find(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Private == nil || !strings.Contains(srv.URL, "host=") || strings.Contains(srv.URL, "5432/") {
		t.Fatalf("not a private cluster: %+v", srv)
	}
	t.Setenv(Env, srv.URL)
	_, dbURL, drop := NewSchema("lct_private")
	s, err := postgres.Open(ctx, dbURL, postgres.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(s, app.Options{})
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := svc.ListProducts(ctx)
	if err != nil || len(ps) == 0 {
		t.Fatalf("products on the private cluster: %v %v", ps, err)
	}
	if _, err := svc.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.New(s, app.Options{}).Buy(licensing.WithAccount(ctx, "a@example.com"), licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: ps[0].SKU, Quantity: 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := drop(); err != nil {
		t.Fatal(err)
	}
	dir := srv.Private.Dir()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cluster's directory %s is still there: %v", dir, err)
	}
	if err := ping(ctx, srv.URL); err == nil {
		t.Error("the private cluster still answers after Close")
	}
}

// Without a server, tests may skip - except under CI, where they fail.
func TestSkipOnlyOutsideCI(t *testing.T) {
	t.Setenv(Env, "skip")
	t.Setenv("CI", "")
	if _, err := Find(context.Background()); !errors.Is(err, errNone) {
		t.Errorf("outside CI: %v, want a skip", err)
	}
	t.Setenv("CI", "true")
	if _, err := Find(context.Background()); err == nil || errors.Is(err, errNone) {
		t.Errorf("under CI: %v, want a failure", err)
	}
}
