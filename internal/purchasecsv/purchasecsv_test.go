package purchasecsv

import (
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

func TestParse(t *testing.T) {
	in := "\ufeffproduct,quantity,company,billing,premium_support,onboarding\n" +
		"backup-ultimate,2,,,true,\n" +
		"MBS-Server, 10 ,Acme Dental,Annual,no,yes\n"
	f, err := Parse(strings.NewReader(in), "buy.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []licensing.BuyLine{
		{Product: "backup-ultimate", Quantity: 2, PremiumSupport: true},
		{Product: "mbs-server", Quantity: 10, Company: "Acme Dental", Billing: "annual", Onboarding: true},
	}
	lines := f.Lines()
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] || f.Rows[1].Line != 3 || f.Err() != nil {
		t.Fatalf("got %+v, %v", f, f.Err())
	}
}

// A file that is not a purchase file at all is one error.
func TestParseRefusesTheFile(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "f.csv:1: empty file"},
		{"product,qty\n", "f.csv:1: unknown column \"qty\""},
		{"product\nx\n", "f.csv:1: column \"quantity\": missing"},
		{"product,product,quantity\n", "f.csv:1: column \"product\": appears twice"},
		{"product,quantity\n", "f.csv:2: no rows after the header"},
	} {
		_, err := Parse(strings.NewReader(c.in), "f.csv")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || licensing.ErrorCode(err) != licensing.EINVALID {
			t.Errorf("Parse(%q) = %v, want prefix %q", c.in, err, c.want)
		}
	}
}

// Every bad row is reported, in file order, with its line and column; the
// good rows are kept for the store's checks.
func TestParseReportsEveryBadRow(t *testing.T) {
	in := "product,quantity,company,billing,premium_support,onboarding\n" +
		"mbs-server,1,,monthly,,\n" + // 2: good, fixes monthly for mbs-server in this file
		"backup-desktop,0,,,,\n" + // 3
		"backup-desktop,x,,,maybe,\n" + // 4: two columns
		"mbs-server,2,,annual,,\n" + // 5: conflicts with line 2
		"backup-desktop,1,a\x01b,,,\n" + // 6
		"mbs-vm,1,,weekly,,\n" + // 7
		",1,,,,\n" + // 8
		"backup-desktop,1,,,,,\n" + // 9: a field too many
		"mbs-server,3,,,,\n" + // 10: good (takes the file's mode later)
		"backup-server,1,,,,yes\n" // 11: good
	f, err := Parse(strings.NewReader(in), "order.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`order.csv:3: column "quantity": must be a whole number from 1 to 100000`,
		`order.csv:4: column "quantity": must be a whole number from 1 to 100000`,
		`order.csv:4: column "premium_support": want true or false, got "maybe"`,
		`order.csv:5: column "billing": annual conflicts with monthly on line 2 for mbs-server`,
		`order.csv:6: column "company": company name "a\x01b" contains control characters`,
		`order.csv:7: column "billing": invalid billing "weekly": want monthly or annual`,
		`order.csv:8: column "product": product is required`,
		`order.csv:9: want 6 fields, got 7`,
	}
	var e *Error
	err = f.Err()
	if !asError(err, &e) || strings.Join(e.Messages(), "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if licensing.ErrorCode(err) != licensing.EINVALID || !strings.Contains(licensing.ErrorHint(err), "nothing was bought") {
		t.Errorf("code %s hint %q", licensing.ErrorCode(err), licensing.ErrorHint(err))
	}
	if len(f.Rows) != 3 || f.Rows[0].Line != 2 || f.Rows[1].Line != 10 || f.Rows[2].Line != 11 {
		t.Errorf("good rows = %+v", f.Rows)
	}
	// What the store finds wrong with the good rows joins them, in file order.
	f.Add([]licensing.LineError{{Line: 2, Field: "product", Code: licensing.ENOTFOUND, Message: "unknown product backup-server"}})
	var e2 *Error
	if !asError(f.Err(), &e2) || len(e2.Rows) != len(want)+1 || e2.Messages()[len(want)] != `order.csv:11: column "product": unknown product backup-server` {
		t.Errorf("after Add: %v", e2.Messages())
	}
	if licensing.ErrorCode(f.Err()) != licensing.EINVALID {
		t.Errorf("a file with an unknown product is invalid input, got %s", licensing.ErrorCode(f.Err()))
	}
}

func TestParseStopsAtBrokenCSV(t *testing.T) {
	f, err := Parse(strings.NewReader("product,quantity\nbackup-desktop,0\n\"unterminated,1\n"), "f.csv")
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if !asError(f.Err(), &e) || len(e.Rows) != 2 || !strings.HasPrefix(e.Messages()[1], "f.csv:3: ") {
		t.Fatalf("errors: %v", f.Err())
	}
}

func asError(err error, e **Error) bool {
	v, ok := err.(*Error)
	*e = v
	return ok
}

func FuzzParse(f *testing.F) {
	f.Add("product,quantity,company,billing,premium_support,onboarding\nbackup-ultimate,2,Acme,,true,\n")
	f.Add("product,quantity\nmbs-vm,100000\n")
	f.Add("quantity,product\n1,\"a,b\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		file, err := Parse(strings.NewReader(in), "fuzz.csv")
		if err == nil {
			err = file.Err()
		}
		if err != nil {
			if licensing.ErrorCode(err) != licensing.EINVALID || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not a one-line invalid-input error", err)
			}
		}
		if file == nil {
			return
		}
		for _, l := range file.Lines() {
			if l.Quantity < 1 || l.Quantity > licensing.MaxQuantity || l.Product == "" {
				t.Fatalf("accepted bad line %+v", l)
			}
		}
	})
}
