package postgres

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/metrics"
	"github.com/licensectl/licensectl/internal/metrics/metricstest"
)

// interleavingStore is a test double of the store port around the real
// PostgreSQL store: on the first attempt of the first Write, once the
// transaction has its snapshot, another replica changes license key and
// commits, so that the transaction's row lock on it fails with a
// serialization failure and the store reruns the body.
type interleavingStore struct {
	*Store
	other *Store
	key   string
	done  atomic.Bool
}

func (s *interleavingStore) Write(ctx context.Context, fn func(app.Tx) error) error {
	return s.Store.Write(ctx, func(tx app.Tx) error {
		if !s.done.Swap(true) {
			if _, err := tx.AccountID(ctx, "a@example.com"); err != nil { // the snapshot
				return err
			}
			if _, err := s.other.pool.Exec(ctx, "UPDATE licenses SET allow_rm = allow_rm WHERE key = $1", s.key); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// A write PostgreSQL reruns after a serialization failure is one
// transaction with one retry in the metrics, and succeeds.
func TestMetricsCountSerializationRetries(t *testing.T) {
	s1, s2 := twoPools(t)
	ctx := newAccount(t, s1, "a@example.com")
	p, err := services(s1).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.BuildInfo{Version: "test"})
	a := app.New(&interleavingStore{Store: s1, other: s2, key: p.Licenses[0]}, app.Options{Clock: s1.Clock(), Observer: m})
	on := true
	if _, err := a.UpdateLicense(ctx, p.Licenses[0], licensing.LicenseUpdate{AllowRM: &on}); err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(m.AdminHandler(slog.New(slog.DiscardHandler)))
	defer admin.Close()
	f := metricstest.Scrape(t, admin.URL+"/metrics")
	if got := f.Value("licensectl_store_transaction_retries_total", "kind", "write"); got != 1 {
		t.Errorf("write retries %v, want 1", got)
	}
	if got := f.Value("licensectl_store_transaction_duration_seconds", "kind", "write", "outcome", "ok"); got != 1 {
		t.Errorf("write transactions %v, want 1", got)
	}
}

// The activations gauge's count, on PostgreSQL: every account's, by mode.
func TestActiveActivations(t *testing.T) {
	s, _ := openSchema(t, licensing.SystemClock{})
	for _, email := range []string{"a@example.com", "b@example.com"} {
		ctx := newAccount(t, s, email)
		p, err := services(s).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := services(s).Activate(ctx, licensing.ActivationRequest{LicenseKey: p.Licenses[0], Machine: "m", Fingerprint: "fp", OS: "windows", Version: "6.0"}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := services(s).ActiveActivations(context.Background()); err != nil || n["online"] != 2 || n["offline"] != 0 {
		t.Fatalf("active activations %v %v, want 2 online", n, err)
	}
}
