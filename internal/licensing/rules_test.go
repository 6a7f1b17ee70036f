package licensing

import (
	"errors"
	"strings"
	"testing"
)

func TestMaintenancePrice(t *testing.T) {
	for _, c := range []struct{ price, want int64 }{
		{29900, 6000}, {11999, 2400}, {4999, 1000}, {14999, 3000}, {22999, 4600}, {0, 0}, {249, 0}, {250, 100}, {100000, 20000},
	} {
		if got := MaintenancePrice(c.price); got != c.want {
			t.Errorf("MaintenancePrice(%d) = %d, want %d", c.price, got, c.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{"A@Example.com": "a@example.com", " b@x.io ": "b@x.io"}
	for in, want := range good {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "nobody", "a@b@c", "Name <a@b.c>", "a\x00@b.c", "a\n@b.c"} {
		if _, err := NormalizeEmail(in); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizeEmail(%q) err = %v", in, err)
		}
	}
}

func TestPriceLinesBillingRule(t *testing.T) {
	cat := map[string]Product{}
	for _, p := range DefaultCatalog() {
		cat[p.SKU] = p
	}
	find := func(s string) (*Product, error) {
		if p, ok := cat[s]; ok {
			return &p, nil
		}
		return nil, Errorf(ENOTFOUND, "unknown product %s", s)
	}
	none := BuyLookups{Product: find, FixedBilling: func(string) (string, error) { return "", nil }}
	annual := BuyLookups{Product: find, FixedBilling: func(string) (string, error) { return BillingAnnual, nil }}

	req := BuyRequest{Lines: []BuyLine{{Product: "mbs-server", Quantity: 3, PremiumSupport: true, Onboarding: true}}}
	if _, _, _, err := PriceLines(req, none); ErrorCode(err) != EINVALID {
		t.Fatalf("first purchase without billing: %v", err)
	}
	req.Lines[0].Billing = BillingMonthly
	if _, _, _, err := PriceLines(req, annual); ErrorCode(err) != ECONFLICT {
		t.Fatalf("other mode than fixed: %v", err)
	}
	items, terms, total, err := PriceLines(req, none)
	if err != nil {
		t.Fatal(err)
	}
	// 3 x 9.99 + 3 x 9.99 premium support + 199.00 onboarding
	if want := int64(3*999 + 3*999 + 19900); total != want || len(items) != 3 || terms[0] != BillingMonthly {
		t.Fatalf("total %d items %d terms %v; want %d", total, len(items), terms, want)
	}
	req.Lines[0].Billing = ""
	if _, terms, _, err := PriceLines(req, annual); err != nil || terms[0] != BillingAnnual {
		t.Fatalf("reuse fixed mode: %v %v", terms, err)
	}
	perp := BuyRequest{Lines: []BuyLine{{Product: "backup-ultimate", Quantity: 1, Billing: BillingAnnual}}}
	if _, _, _, err := PriceLines(perp, none); ErrorCode(err) != EINVALID {
		t.Fatalf("billing on lifetime product: %v", err)
	}
}

func TestBuyRequestNormalize(t *testing.T) {
	for _, q := range []int{0, -1, MaxQuantity + 1} {
		r := BuyRequest{Lines: []BuyLine{{Product: "backup-desktop", Quantity: q}}}
		if err := r.Normalize(); ErrorCode(err) != EINVALID {
			t.Errorf("quantity %d: %v", q, err)
		}
	}
	r := BuyRequest{Lines: []BuyLine{{Product: " Backup-Desktop ", Quantity: MaxQuantity}}}
	if err := r.Normalize(); err != nil || r.Lines[0].Product != "backup-desktop" {
		t.Errorf("normalize: %v %+v", err, r)
	}
}

func TestParseSort(t *testing.T) {
	got, err := ParseSort("product,-expires_at")
	if err != nil || len(got) != 2 || got[1] != (SortField{"expires_at", true}) {
		t.Fatalf("ParseSort = %v, %v", got, err)
	}
	if _, err := ParseSort("price; drop table"); ErrorCode(err) != EINVALID {
		t.Fatalf("bad field accepted: %v", err)
	}
}

func TestNormalizeCompanyName(t *testing.T) {
	if got, err := NormalizeCompanyName("  Zürich Dental 歯科 "); err != nil || got != "Zürich Dental 歯科" {
		t.Fatalf("unicode name: %q %v", got, err)
	}
	for _, bad := range []string{"", "   ", "Acme\x00", "Acme\nDental", "Acme\u202eDental", "Ac\u200bme", strings.Repeat("x", 101)} {
		if _, err := NormalizeCompanyName(bad); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizeCompanyName(%q) = %v", bad, err)
		}
	}
}

// PriceLines reports every bad line, in order; a payment mode chosen on one
// line of a first purchase holds for the others, before and after it, and
// another one conflicts with that line, not with a first purchase.
func TestPriceLinesReportsEveryLine(t *testing.T) {
	cat := map[string]Product{}
	for _, p := range DefaultCatalog() {
		cat[p.SKU] = p
	}
	look := BuyLookups{
		Product: func(s string) (*Product, error) {
			if p, ok := cat[s]; ok {
				return &p, nil
			}
			return nil, Errorf(ENOTFOUND, "unknown product %s", s)
		},
		FixedBilling: func(string) (string, error) { return "", nil },
		Company: func(name string) (string, error) {
			if FoldName(name) == "acme" {
				return "Acme", nil
			}
			return "", Errorf(ENOTFOUND, "no company %q", name)
		},
	}
	r := BuyRequest{Lines: []BuyLine{
		{Product: "mbs-server", Quantity: 1},
		{Product: "mbs-server", Quantity: 1, Billing: BillingMonthly},
		{Product: "nope", Quantity: 1},
		{Product: "mbs-server", Quantity: 1, Billing: BillingAnnual},
		{Product: "backup-desktop", Quantity: 1, Company: "ACME"},
		{Product: "backup-desktop", Quantity: 1, Company: "Initech"},
	}}
	_, _, _, err := PriceLines(r, look)
	got := ErrorLines(err)
	want := []string{
		"line 3: product: unknown product nope",
		"line 4: billing: annual conflicts with monthly on line 2 of this purchase for mbs-server",
		`line 6: company: no company "Initech"`,
	}
	if ErrorCode(err) != EINVALID || len(got) != len(want) {
		t.Fatalf("PriceLines = %v; lines %+v", err, got)
	}
	for i, w := range want {
		if got[i].Error() != w {
			t.Errorf("bad line %d = %q, want %q", i, got[i].Error(), w)
		}
	}
	r.Lines = []BuyLine{r.Lines[0], r.Lines[1], r.Lines[4]}
	items, terms, _, err := PriceLines(r, look)
	if err != nil || terms[0] != BillingMonthly || terms[1] != BillingMonthly || items[2].Company != "Acme" {
		t.Errorf("PriceLines = %+v %v, %v", items, terms, err)
	}
	// A failure of the store ends the check.
	look.Company = func(string) (string, error) { return "", errors.New("disk on fire") }
	if _, _, _, err := PriceLines(r, look); err == nil || err.Error() != "disk on fire" {
		t.Errorf("store failure = %v", err)
	}
}
