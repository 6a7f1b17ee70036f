package licensing

import (
	"strings"
	"testing"
)

func TestEnumParse(t *testing.T) {
	for _, c := range []struct {
		e        Enum
		in, want string
	}{
		{KindFilter(), "Trial", KindTrial},
		{KindFilter(), " COMMERCIAL ", KindCommercial},
		{KindFilter(), "all", ""},
		{KindFilter(), "ALL", ""},
		{KindFilter(), "", ""},
		{StatusFilter(), "Not Activated", StatusNotActivated},
		{StatusFilter(), "not-activated", StatusNotActivated},
		{StatusFilter(), "Activated", StatusActivated},
		{MaintenanceStateFilter(), "None", MaintenanceNone},
		{BillingEnum(), "Annual", BillingAnnual},
		{OSEnum(), "macOS", OSMacOS},
		{SortFieldEnum(), "Expires_At", "expires_at"},
		{SortFieldEnum(), "expires-at", "expires_at"},
	} {
		got, err := c.e.Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s.Parse(%q) = %q, %v; want %q", c.e.Name, c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		e        Enum
		in, want string
	}{
		{KindFilter(), "beta", `invalid kind "beta": want commercial, trial or all`},
		{BillingEnum(), "all", `invalid billing "all": want monthly or annual`},
		{OSEnum(), "BeOS", `invalid os "BeOS": want windows, macos or linux`},
	} {
		_, err := c.e.Parse(c.in)
		if err == nil || err.Error() != c.want || ErrorCode(err) != EINVALID {
			t.Errorf("%s.Parse(%q) = %v, want %q", c.e.Name, c.in, err, c.want)
		}
	}
}

func TestFilterValidateNormalizes(t *testing.T) {
	f := LicenseFilter{Kind: "Trial", Validity: "all", Usage: "ALL", Status: "Not Activated", Maintenance: "Expired"}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := (LicenseFilter{Kind: KindTrial, Status: StatusNotActivated, Maintenance: MaintenanceExpired}); f.Kind != want.Kind ||
		f.Validity != "" || f.Usage != "" || f.Status != want.Status || f.Maintenance != want.Maintenance {
		t.Errorf("normalized filter = %+v", f)
	}
	sort, err := ParseSort("PRODUCT, -Expires_At")
	if err != nil || len(sort) != 2 || sort[0] != (SortField{Field: "product"}) || sort[1] != (SortField{Field: "expires_at", Desc: true}) {
		t.Errorf("ParseSort = %+v, %v", sort, err)
	}
	if _, err := ParseSort("product,,key"); err == nil || !strings.Contains(err.Error(), "empty sort field") {
		t.Errorf("ParseSort with an empty field = %v", err)
	}
	r := BuyRequest{Lines: []BuyLine{{Product: "MBS-Server", Quantity: 1, Billing: "Monthly"}}}
	if err := r.Normalize(); err != nil || r.Lines[0].Billing != BillingMonthly || r.Lines[0].Product != "mbs-server" {
		t.Errorf("Normalize = %+v, %v", r.Lines, err)
	}
	a := ActivationRequest{LicenseKey: "k", Machine: "m", Fingerprint: "f", OS: "Linux", Version: "7.9"}
	if err := a.Normalize(); err != nil || a.OS != OSLinux {
		t.Errorf("activation OS = %q, %v", a.OS, err)
	}
	p := Product{SKU: "x", Name: "X", Term: "Subscription", MonthlyPriceCents: 1, AnnualPriceCents: 10, Platforms: []string{"Linux", "macOS"}}
	if err := p.Validate(); err != nil || p.Term != TermSubscription || p.Platforms[0] != OSLinux || p.Platforms[1] != OSMacOS {
		t.Errorf("product = %+v, %v", p, err)
	}
}
