package licensekey

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewParsesBack(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		k, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != Len || strings.Count(k, "-") != 4 {
			t.Fatalf("bad shape %q", k)
		}
		got, err := Parse(k)
		if err != nil || got != k {
			t.Fatalf("Parse(%q) = %q, %v", k, got, err)
		}
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
}

func TestParseLenient(t *testing.T) {
	k, _ := New(bytes.NewReader(bytes.Repeat([]byte{7, 200, 31, 0, 19}, 5)))
	for _, in := range []string{strings.ToLower(k), strings.ReplaceAll(k, "-", ""), " " + strings.ReplaceAll(k, "-", " ")} {
		got, err := Parse(in)
		if err != nil || got != k {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, k)
		}
	}
	// Crockford aliases: O reads as 0, I and L as 1.
	alias := strings.NewReplacer("0", "O", "1", "I").Replace(k)
	if got, err := Parse(alias); err != nil || got != k {
		t.Errorf("Parse(%q) = %q, %v", alias, got, err)
	}
}

func TestParseRejectsEverySingleCharacterError(t *testing.T) {
	k, _ := New(nil)
	for i := 0; i < len(k); i++ {
		if k[i] == '-' {
			continue
		}
		for _, c := range []byte(alphabet) {
			if c == k[i] {
				continue
			}
			typo := k[:i] + string(c) + k[i+1:]
			if _, err := Parse(typo); err == nil {
				t.Fatalf("typo %q of %q accepted", typo, k)
			}
		}
	}
}

func TestParseRejectsAdjacentSwaps(t *testing.T) {
	rejected, total := 0, 0
	for n := 0; n < 200; n++ {
		k, _ := New(nil)
		raw := []byte(strings.ReplaceAll(k, "-", ""))
		for i := 0; i+1 < len(raw); i++ {
			if raw[i] == raw[i+1] {
				continue
			}
			s := append([]byte{}, raw...)
			s[i], s[i+1] = s[i+1], s[i]
			total++
			if _, err := Parse(string(s)); err != nil {
				rejected++
			}
		}
	}
	// Luhn mod N misses only swaps of the two values that sum to N-1 over factors; expect > 95%.
	if float64(rejected) < 0.95*float64(total) {
		t.Fatalf("only %d of %d transpositions caught", rejected, total)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, in := range []string{"", "ABC", "U0000-00000-00000-00000-00000", strings.Repeat("0", 26), "'; DROP TABLE licenses;--", strings.Repeat("-", 100)} {
		if _, err := Parse(in); err != ErrMalformed {
			t.Errorf("Parse(%q) err = %v", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	k, _ := New(nil)
	for _, s := range []string{k, strings.ToLower(k), "", "0000-0000", "UUUUU-UUUUU"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(got)
		if err != nil || again != got || len(got) != Len {
			t.Fatalf("canonical form %q of %q does not parse back: %q %v", got, s, again, err)
		}
	})
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	k, _ := New(nil)
	for b.Loop() {
		if _, err := Parse(k); err != nil {
			b.Fatal(err)
		}
	}
}
