package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// BenchmarkBuy buys 10,000 licenses per operation into a growing store.
func BenchmarkBuy(b *testing.B) {
	s := openStore(b, nil)
	a := actingAs(b, s, "a@example.com")
	const n = 10000
	req := licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: n, Billing: licensing.BillingAnnual}}}
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		if _, err := services(s).Buy(a, req, nil); err != nil {
			b.Fatal(err)
		}
		ops++
	}
	b.ReportMetric(float64(ops*n)/b.Elapsed().Seconds(), "licenses/s")
}

// BenchmarkListLicenses lists a store of 100,000 licenses (plus 10,000 of
// another account, so the account filter has something to skip).
func BenchmarkListLicenses(b *testing.B) {
	s := openStore(b, nil)
	a := actingAs(b, s, "a@example.com")
	other := actingAs(b, s, "other@example.com")
	if _, err := services(s).CreateCompany(a, "Acme"); err != nil {
		b.Fatal(err)
	}
	buy := func(ctx context.Context, l licensing.BuyLine) {
		if _, err := services(s).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{l}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	buy(other, licensing.BuyLine{Product: "backup-desktop", Quantity: 10000})
	buy(a, licensing.BuyLine{Product: "backup-desktop", Quantity: 50000})
	buy(a, licensing.BuyLine{Product: "mbs-server", Quantity: 40000, Billing: licensing.BillingAnnual})
	buy(a, licensing.BuyLine{Product: "mbs-desktop", Quantity: 10000, Billing: licensing.BillingMonthly, Company: "Acme"})

	for _, c := range []struct {
		name string
		f    licensing.LicenseFilter
	}{
		{"all", licensing.LicenseFilter{}},
		{"sort=key", licensing.LicenseFilter{Sort: sortBy("key")}},
		{"product+sort=-expires_at", licensing.LicenseFilter{Product: "mbs-server", Sort: sortBy("-expires_at")}},
		{"company", licensing.LicenseFilter{Company: "Acme"}},
		{"search", licensing.LicenseFilter{Search: "server"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				if err := services(s).ListLicenses(a, c.f, func(*licensing.License) error { rows++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/license")
		})
	}
}

// BenchmarkLicenseQuery builds the list query for a filter with several
// conditions and sorts: the per-request cost before SQLite sees it.
func BenchmarkLicenseQuery(b *testing.B) {
	s := openStore(b, nil)
	a := actingAs(b, s, "a@example.com")
	if _, err := services(s).CreateCompany(a, "Acme"); err != nil {
		b.Fatal(err)
	}
	f := licensing.LicenseFilter{Company: "Acme", Kind: licensing.KindCommercial, Validity: licensing.ValidityValid,
		Product: "mbs-server", Sort: sortBy("-expires_at,key"), Limit: 50}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := licenseQuery(a, s, 1, &f, 1800000000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate checks one API token, as every request does, with
// one App (a server's).
func BenchmarkAuthenticate(b *testing.B) {
	s := openStore(b, nil)
	a := actingAs(b, s, "a@example.com")
	tok, err := services(s).CreateToken(a, licensing.TokenRequest{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	svc := services(s) // one App, as a server has
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, tok.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate validates licenses with a fingerprint, as every
// installed copy does, from 8 goroutines at once: 10,000 licenses, 100 of
// them activated, each validation naming one of those machines.
func BenchmarkValidate(b *testing.B) {
	s := openStore(b, nil)
	a := actingAs(b, s, "a@example.com")
	svc := services(s)
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 10000, Billing: licensing.BillingAnnual}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	const machines = 100
	keys := p.Licenses[:machines]
	for i, k := range keys {
		if _, err := svc.Activate(a, licensing.ActivationRequest{LicenseKey: k, Machine: fmt.Sprint("m", i),
			Fingerprint: fmt.Sprint("fp-", i), OS: licensing.OSLinux, Version: "1.0"}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1)) % machines
			v, err := svc.ValidateLicense(a, keys[i], fmt.Sprint("fp-", i), "")
			if err != nil || !v.Valid {
				b.Fatal(v, err)
			}
		}
	})
}

// BenchmarkActivate activates and deactivates machines from 8 goroutines at
// once, each on licenses of its own (one operation: an activation and its
// release, two write transactions).
func BenchmarkActivate(b *testing.B) {
	s := openStore(b, nil)
	a := actingAs(b, s, "a@example.com")
	svc := services(s)
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 1000, Billing: licensing.BillingAnnual}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			key, fp := p.Licenses[i%len(p.Licenses)], fmt.Sprint("fp-", i)
			act, err := svc.Activate(a, licensing.ActivationRequest{LicenseKey: key, Machine: fp, Fingerprint: fp, OS: licensing.OSLinux, Version: "1.0"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Deactivate(a, licensing.DeactivateRequest{ID: act.ID}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
