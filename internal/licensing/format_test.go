package licensing

import (
	"math"
	"testing"
)

// Money for people has thousands separators; JSON keeps integer cents.
func TestFormatCents(t *testing.T) {
	for c, want := range map[int64]string{
		0: "0.00", 5: "0.05", 29900: "299.00", 100000: "1,000.00", 499900000: "4,999,000.00",
		-50: "-0.50", -123456789: "-1,234,567.89", math.MaxInt64: "92,233,720,368,547,758.07",
	} {
		if got := FormatCents(c); got != want {
			t.Errorf("FormatCents(%d) = %q, want %q", c, got, want)
		}
	}
}
