package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// BenchmarkListPage measures one authenticated GET /v1/licenses?limit=50 on
// a 20,000-license store, without the network: what the server adds per request.
func BenchmarkListPage(b *testing.B) {
	store, srv, tokenFor := newServer(b, licensing.SystemClock{}, Options{Rate: 1e9})
	srv.Close()
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := store.CreateAccount(ctx, "a@example.com"); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 20000}}}, nil); err != nil {
		b.Fatal(err)
	}
	token, err := tokenFor(ctx)
	if err != nil {
		b.Fatal(err)
	}
	h := NewServer(store, Options{Rate: 1e9})
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/v1/licenses?limit=50", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
