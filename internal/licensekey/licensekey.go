// Package licensekey makes and checks license keys: 25 Crockford base32
// characters in five groups of five, the last a Luhn mod 32 check character, so
// a mistyped key is told apart from an unknown one without a look-up.
package licensekey

import (
	"crypto/rand"
	"errors"
	"io"
	"strings"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford base32

const (
	dataChars = 24
	keyChars  = dataChars + 1
	groups    = 5
	groupLen  = 5
	// Len is the length of a formatted key, dashes included.
	Len = keyChars + groups - 1
)

// ErrMalformed is returned by Parse for anything that is not a well-formed key.
var ErrMalformed = errors.New("malformed license key")

// value maps a Crockford character (with its lenient aliases) to its value.
func value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		c -= 'a' - 'A'
	}
	switch c {
	case 'O':
		return 0
	case 'I', 'L':
		return 1
	case 'U':
		return -1
	}
	return strings.IndexByte(alphabet, c)
}

// check computes the Luhn mod 32 check value over data values.
func check(vals []int) int {
	const n = 32
	sum, factor := 0, 2
	for i := len(vals) - 1; i >= 0; i-- {
		a := factor * vals[i]
		sum += a/n + a%n
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
	}
	return (n - sum%n) % n
}

// New makes a random key from r (crypto/rand.Reader when nil): 120 random bits.
func New(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var raw [dataChars]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", err
	}
	vals := make([]int, dataChars, keyChars)
	for i, b := range raw {
		vals[i] = int(b) & 31
	}
	vals = append(vals, check(vals))
	return format(vals), nil
}

func format(vals []int) string {
	var b strings.Builder
	b.Grow(Len)
	for i, v := range vals {
		if i > 0 && i%groupLen == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[v])
	}
	return b.String()
}

// Parse checks a key as a user typed it — any case, with or without dashes or
// spaces, with Crockford's O/I/L aliases — and returns its canonical form.
func Parse(s string) (string, error) {
	if len(s) > 64 {
		return "", ErrMalformed
	}
	vals := make([]int, 0, keyChars)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == ' ' {
			continue
		}
		v := value(c)
		if v < 0 || len(vals) == keyChars {
			return "", ErrMalformed
		}
		vals = append(vals, v)
	}
	if len(vals) != keyChars || check(vals[:dataChars]) != vals[dataChars] {
		return "", ErrMalformed
	}
	return format(vals), nil
}
