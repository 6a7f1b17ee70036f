package licensing

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewLicenseTerms(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		trial     bool
		term      string
		kind      string
		autoRenew bool
		expires   time.Time // zero: never
	}{
		{"trial of a lifetime product", true, LicenseTermPerpetual, KindTrial, false, now.AddDate(0, 0, TrialDays)},
		{"trial of a subscription", true, LicenseTermMonthly, KindTrial, false, now.AddDate(0, 0, TrialDays)},
		{"monthly", false, LicenseTermMonthly, KindCommercial, true, time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)},
		{"annual", false, LicenseTermAnnual, KindCommercial, true, time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)},
		{"lifetime", false, LicenseTermPerpetual, KindCommercial, false, time.Time{}},
	} {
		kind, renew, exp := NewLicenseTerms(c.trial, c.term, now)
		want := int64(0)
		if !c.expires.IsZero() {
			want = c.expires.Unix()
		}
		if kind != c.kind || renew != c.autoRenew || exp != want {
			t.Errorf("%s: got %s, %v, %d; want %s, %v, %d", c.name, kind, renew, exp, c.kind, c.autoRenew, want)
		}
	}
}

func TestCheckAutoRenew(t *testing.T) {
	for _, c := range []struct {
		kind, term string
		ok         bool
	}{
		{KindCommercial, LicenseTermMonthly, true},
		{KindCommercial, LicenseTermAnnual, true},
		{KindCommercial, LicenseTermPerpetual, false},
		{KindTrial, LicenseTermMonthly, false},
		{KindTrial, LicenseTermPerpetual, false},
	} {
		err := CheckAutoRenew("K", c.kind, c.term)
		if (err == nil) != c.ok {
			t.Errorf("%s %s: err = %v, want ok=%v", c.kind, c.term, err, c.ok)
		}
		var le *Error
		if err != nil && (!errors.As(err, &le) || le.Code != EINVALID || le.Hint == "") {
			t.Errorf("%s %s: %#v, want EINVALID with a hint", c.kind, c.term, err)
		}
	}
}

func TestRequestHash(t *testing.T) {
	type a struct {
		N int `json:"n"`
	}
	type b struct {
		M int `json:"m"`
	}
	h1, _ := RequestHash(a{1})
	h2, _ := RequestHash(a{1})
	h3, _ := RequestHash(a{2})
	h4, _ := RequestHash(b{1})
	if h1 != h2 || len(h1) != 64 {
		t.Errorf("same request: %s %s", h1, h2)
	}
	if h1 == h3 || h1 == h4 {
		t.Errorf("different requests hash alike: %s %s %s", h1, h3, h4)
	}
	if _, err := RequestHash(func() {}); err == nil {
		t.Error("an unencodable request hashed")
	}
}

func TestGroupRenewalCharges(t *testing.T) {
	due := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	step := func(acct, cur, kind, sku, action string, price int64, term string) RenewalStep[string] {
		return RenewalStep[string]{Item: term, Name: "Name " + sku, Renewal: Renewal{Kind: kind, Object: sku + "-obj",
			Product: sku, Account: acct, DueAt: due, Action: action, PriceCents: price, Currency: cur}}
	}
	steps := []RenewalStep[string]{
		step("b@x", "USD", RenewalSubscription, "vm", RenewalRenew, 500, LicenseTermMonthly),
		step("a@x", "USD", RenewalMaintenance, "ult", RenewalRenew, 2400, ""),
		step("b@x", "USD", RenewalSubscription, "vm", RenewalRenew, 500, LicenseTermMonthly),
		step("b@x", "EUR", RenewalSubscription, "vm", RenewalRenew, 450, LicenseTermMonthly),
		step("b@x", "USD", RenewalSubscription, "vm", RenewalExpire, 500, LicenseTermMonthly),
		step("b@x", "USD", RenewalSubscription, "vm", RenewalRenew, 600, LicenseTermMonthly), // a new price: its own line
		step("a@x", "USD", RenewalMaintenance, "ult", RenewalRenew, 2400, ""),
	}
	got := GroupRenewalCharges(steps, func(term string) string { return term })
	obj := func(sku string) string { return sku + "-obj@2026-05-01T00:00:00Z" }
	want := []RenewalCharge{
		{Account: "b@x", Currency: "USD", TotalCents: 1600, Steps: []int{0, 2, 5},
			Objects: []string{obj("vm"), obj("vm"), obj("vm")},
			Items: []LineItem{
				{SKU: "vm", Description: "Name vm renewal (monthly)", Quantity: 2, UnitPriceCents: 500, AmountCents: 1000, Billing: LicenseTermMonthly},
				{SKU: "vm", Description: "Name vm renewal (monthly)", Quantity: 1, UnitPriceCents: 600, AmountCents: 600, Billing: LicenseTermMonthly},
			}},
		{Account: "a@x", Currency: "USD", TotalCents: 4800, Steps: []int{1, 6},
			Objects: []string{obj("ult"), obj("ult")},
			Items: []LineItem{{SKU: MaintenanceSKU("ult"), Description: "Maintenance renewal for Name ult (1 year)",
				Quantity: 2, UnitPriceCents: 2400, AmountCents: 4800}}},
		{Account: "b@x", Currency: "EUR", TotalCents: 450, Steps: []int{3}, Objects: []string{obj("vm")},
			Items: []LineItem{{SKU: "vm", Description: "Name vm renewal (monthly)", Quantity: 1, UnitPriceCents: 450, AmountCents: 450,
				Billing: LicenseTermMonthly}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("charges:\n got %+v\nwant %+v", got, want)
	}
	if got := GroupRenewalCharges(steps[4:5], func(term string) string { return term }); len(got) != 0 {
		t.Errorf("an end was charged: %+v", got)
	}
}

func TestParseKey(t *testing.T) {
	const key = "BEK6B-HSZRS-N4G5C-RH7R3-P4HBK"
	if got, err := ParseKey(strings.ToLower(key)); err != nil || got != key {
		t.Errorf("lower case: %q, %v", got, err)
	}
	for _, bad := range []string{"", "BEK6B-HSZRS-N4G5C-RH7R3-P4HBX", "bek6b\x1b[31m", strings.Repeat("A", 200)} {
		_, err := ParseKey(bad)
		msg := ErrorMessage(err)
		if ErrorCode(err) != EINVALID || !strings.HasPrefix(msg, "malformed license key") ||
			strings.ContainsAny(msg, "\x1b") || len(msg) > 100 {
			t.Errorf("%q: %v (%s)", bad, err, ErrorCode(err))
		}
	}
}
