package purchasecsv

import (
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

func TestParse(t *testing.T) {
	in := "\ufeffproduct,quantity,company,billing,premium_support,onboarding\n" +
		"backup-ultimate,2,,,true,\n" +
		"MBS-Server, 10 ,Acme Dental,annual,no,yes\n"
	lines, err := Parse(strings.NewReader(in), "buy.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []licensing.BuyLine{
		{Product: "backup-ultimate", Quantity: 2, PremiumSupport: true},
		{Product: "mbs-server", Quantity: 10, Company: "Acme Dental", Billing: "annual", Onboarding: true},
	}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("got %+v", lines)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "f.csv:1: empty file"},
		{"product,qty\n", "f.csv:1: unknown column \"qty\""},
		{"product\nx\n", "f.csv:1: missing column \"quantity\""},
		{"product,quantity\n", "f.csv:2: no rows after the header"},
		{"product,quantity\nbackup-desktop,1\nbackup-desktop,0\n", "f.csv:3: quantity must be between 1 and 100000"},
		{"product,quantity\nbackup-desktop,1\nbackup-desktop,x\n", "f.csv:3: quantity \"x\" is not a whole number"},
		{"product,quantity,billing\nbackup-desktop,1,weekly\n", "f.csv:2: invalid billing \"weekly\""},
		{"product,quantity,onboarding\nbackup-desktop,1,maybe\n", "f.csv:2: onboarding: want true or false"},
		{"product,quantity\nbackup-desktop,1,extra\n", "f.csv:2: want 2 fields, got 3"},
		{"product,quantity\n\"unterminated,1\n", "f.csv:"},
		{"product,quantity,company\nbackup-desktop,1,a\x01b\n", "f.csv:2: company name"},
	} {
		_, err := Parse(strings.NewReader(c.in), "f.csv")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || licensing.ErrorCode(err) != licensing.EINVALID {
			t.Errorf("Parse(%q) = %v, want prefix %q", c.in, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("product,quantity,company,billing,premium_support,onboarding\nbackup-ultimate,2,Acme,,true,\n")
	f.Add("product,quantity\nmbs-vm,100000\n")
	f.Add("quantity,product\n1,\"a,b\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		lines, err := Parse(strings.NewReader(in), "fuzz.csv")
		if err != nil {
			if licensing.ErrorCode(err) != licensing.EINVALID || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not a one-line invalid-input error", err)
			}
			return
		}
		for _, l := range lines {
			if l.Quantity < 1 || l.Quantity > licensing.MaxQuantity || l.Product == "" {
				t.Fatalf("accepted bad line %+v", l)
			}
		}
	})
}
