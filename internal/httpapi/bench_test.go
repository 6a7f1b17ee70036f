package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/metrics"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// BenchmarkListPage measures one authenticated GET /v1/licenses?limit=50 on
// a 20,000-license store, without the network: what the server adds per
// request. Its sub-benchmarks run it without metrics and with them (the
// middleware and the store observer, as serve --admin-addr runs), in one
// run: compare metrics=off and metrics=on.
func BenchmarkListPage(b *testing.B) {
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	store := app.New(db, app.Options{})
	if _, err := store.Seed(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 20000}}}, nil); err != nil {
		b.Fatal(err)
	}
	token, err := store.CreateToken(ctx, licensing.TokenRequest{})
	if err != nil {
		b.Fatal(err)
	}
	page := func(b *testing.B, h http.Handler) {
		for b.Loop() {
			req := httptest.NewRequest("GET", "/v1/licenses?limit=50", nil)
			req.Header.Set("Authorization", "Bearer "+token.Secret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	}
	b.Run("metrics=off", func(b *testing.B) { page(b, NewServer(store, Options{Rate: 1e9})) })
	b.Run("metrics=on", func(b *testing.B) {
		m := metrics.New(metrics.BuildInfo{Version: "bench"})
		observed := app.New(db, app.Options{Observer: m})
		page(b, NewServer(observed, Options{Rate: 1e9, Metrics: m}))
		if n := testutil.CollectAndCount(m.Registry(), "licensectl_http_requests_total"); n != 1 {
			b.Fatalf("%d request series after the benchmark, want 1", n)
		}
	})
}

// BenchmarkHealthz isolates what the middleware adds: GET /healthz touches
// no store, so metrics=on minus metrics=off is the metrics' own cost.
func BenchmarkHealthz(b *testing.B) {
	get := func(b *testing.B, h http.Handler) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	}
	b.Run("metrics=off", func(b *testing.B) { get(b, NewServer(nil, Options{Rate: 1e9})) })
	b.Run("metrics=on", func(b *testing.B) {
		get(b, NewServer(nil, Options{Rate: 1e9, Metrics: metrics.New(metrics.BuildInfo{Version: "bench"})}))
	})
}
