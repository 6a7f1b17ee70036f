package postgres

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// benchStores gives a fresh seeded store of each kind with account a.
func benchStores(b *testing.B) map[string]licensing.Services {
	ctx := context.Background()
	lite, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lite.Close() })
	if _, err := services(lite).Seed(ctx); err != nil {
		b.Fatal(err)
	}
	pg, _ := openSchema(b, nil)
	out := map[string]licensing.Services{"sqlite": services(lite), "postgres": services(pg)}
	for _, s := range out {
		if _, err := s.CreateAccount(ctx, "a@example.com"); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

var acting = licensing.WithAccount(context.Background(), "a@example.com")

// BenchmarkBuy100k buys 100,000 licenses in one purchase per operation.
func BenchmarkBuy100k(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name]
			req := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 100_000, Billing: licensing.BillingAnnual}}}
			ops := 0
			for b.Loop() {
				if _, err := s.Buy(acting, req, nil); err != nil {
					b.Fatal(err)
				}
				ops++
			}
			b.ReportMetric(float64(ops*100_000)/b.Elapsed().Seconds(), "licenses/s")
		})
	}
}

// BenchmarkBuyOneParallel makes one-license purchases from 8 goroutines:
// the single writer of SQLite against PostgreSQL's concurrent transactions.
func BenchmarkBuyOneParallel(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name]
			req := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 1}}}
			var n atomic.Int64
			b.SetParallelism(4) // x GOMAXPROCS (2 here) goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Buy(acting, req, nil); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "purchases/s")
		})
	}
}

// BenchmarkList100k lists a store of 100,000 licenses, sorted by expiry.
func BenchmarkList100k(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name]
			func() {
				if _, err := s.Buy(acting, licensing.BuyRequest{Lines: []licensing.BuyLine{
					{Product: "mbs-server", Quantity: 100_000, Billing: licensing.BillingAnnual}}}, nil); err != nil {
					b.Fatal(err)
				}
			}()
			f := licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "expires_at"}}}
			for b.Loop() {
				n := 0
				if err := s.ListLicenses(acting, f, func(*licensing.License) error { n++; return nil }); err != nil || n != 100_000 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
