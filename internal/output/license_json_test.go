package output

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// pieces of text that each need care in JSON: HTML characters, quotes,
// controls, line separators, invalid UTF-8, multi-byte runes.
var jsonPieces = []string{"a", "Z", "0", " ", "-", "<", ">", "&", `"`, `\`, "/", "\x00", "\x01", "\b", "\f", "\n",
	"\r", "\t", "\x1f", "\x7f", "é", "€", "😀", "\u2028", "\u2029", "\u2027", "\xff", "\xc3", "\xe2\x80", "\ufffd", "Ω"}

func randomText(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(12) {
		sb.WriteString(jsonPieces[r.IntN(len(jsonPieces))])
	}
	return sb.String()
}

func randomTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("X", 5*3600+1800), time.FixedZone("Y", -7*3600)}
	t := time.Unix(r.Int64N(1<<36)-1<<34, 0).In(zones[r.IntN(len(zones))])
	if r.IntN(3) == 0 {
		t = t.Add(time.Duration(r.IntN(1e9)))
	}
	if r.IntN(20) == 0 {
		t = time.Time{}
	}
	return t
}

func randomLicense(r *rand.Rand) *licensing.License {
	l := &licensing.License{Key: randomText(r), Product: randomText(r), ProductName: randomText(r), Kind: randomText(r),
		Term: randomText(r), Status: randomText(r), Validity: randomText(r), Usage: randomText(r),
		PurchaseID: randomText(r), PurchaseEmail: randomText(r), AllowRM: r.IntN(2) == 0, AutoRenew: r.IntN(2) == 0,
		Maintenance: randomText(r), Seats: int(r.Int64()) * (1 - 2*r.IntN(2)), SeatsUsed: r.IntN(100),
		CreatedAt: randomTime(r)}
	if r.IntN(2) == 0 {
		c := randomText(r)
		l.Company = &c
	}
	if r.IntN(2) == 0 {
		t := randomTime(r)
		l.ExpiresAt = &t
	}
	if r.IntN(2) == 0 {
		t := randomTime(r)
		l.MaintenanceTill = &t
	}
	if r.IntN(2) == 0 {
		t := randomTime(r)
		l.RevokedAt = &t
	}
	return l
}

// TestAppendLicenseJSON: the fast encoder writes exactly what encoding/json
// writes, for many licenses with every kind of text, nil and set pointers.
func TestAppendLicenseJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for i := range 20000 {
		l := randomLicense(r)
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		buf, err = AppendLicenseJSON(buf[:0], l)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("license %d:\n got %s\nwant %s", i, buf, want)
		}
	}
}

// TestAppendLicenseJSONEveryByte covers every single byte and every rune
// class on its own, in each text field position.
func TestAppendLicenseJSONEveryByte(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string(rune(c)), string([]byte{byte(c)}), "x" + string([]byte{byte(c)}) + "y"} {
			l := &licensing.License{Key: s, Company: &s, CreatedAt: time.Unix(0, 0).UTC()}
			want, _ := json.Marshal(l)
			got, err := AppendLicenseJSON(nil, l)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("byte %#x: got %s (%v), want %s", c, got, err, want)
			}
		}
	}
}

func TestAppendLicenseJSONBadTime(t *testing.T) {
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &licensing.License{ExpiresAt: &bad}
	if _, err := json.Marshal(l); err == nil {
		t.Fatal("encoding/json accepted year 10000")
	}
	if _, err := AppendLicenseJSON(nil, l); err == nil {
		t.Fatal("AppendLicenseJSON accepted year 10000")
	}
}

func FuzzAppendLicenseJSON(f *testing.F) {
	f.Add("ABCDE-12345", "<a&b>", "\u2028\xff")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		l := &licensing.License{Key: a, ProductName: b, Company: &c, PurchaseEmail: a + c}
		want, err := json.Marshal(l)
		if err != nil {
			t.Skip()
		}
		got, err := AppendLicenseJSON(nil, l)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v), want %s", got, err, want)
		}
	})
}

func BenchmarkLicenseJSON(b *testing.B) {
	c := "Globex"
	exp := time.Unix(1800000000, 0).UTC()
	l := &licensing.License{Key: "ABCDE-FGHJK-MNPQR-STVWX-YZ012", Product: "mbs-server", ProductName: "MBS Server", Kind: "commercial",
		Term: "annual", Status: "not_activated", Validity: "valid", Usage: "unused", Company: &c, PurchaseID: "P-0123456789AB",
		PurchaseEmail: "bench@example.com", AutoRenew: true, ExpiresAt: &exp, Maintenance: "none", Seats: 1, CreatedAt: exp}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendLicenseJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendLicenseJSON(buf[:0], l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
