package licensing

import (
	"regexp"
	"testing"
)

func TestNewAttachCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewAttachCode()
		if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`).MatchString(c) {
			t.Fatalf("code %q is not two groups of five Crockford characters", c)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
		if n, err := NormalizeAttachCode(c); err != nil || len(n) != 10 {
			t.Fatalf("NormalizeAttachCode(%q) = %q, %v", c, n, err)
		}
	}
}

func TestNormalizeAttachCode(t *testing.T) {
	for in, want := range map[string]string{
		"K7M2Q-9XDPA":   "K7M2Q9XDPA",
		"k7m2q9xdpa":    "K7M2Q9XDPA",
		" k7m2q 9xdpa ": "K7M2Q9XDPA",
		"OIL00-00000":   "0110000000",
	} {
		if got, err := NormalizeAttachCode(in); err != nil || got != want {
			t.Errorf("NormalizeAttachCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "K7M2Q", "K7M2Q-9XDPAB", "K7M2Q-9XDPU", "K7M2Q-9XDP!", "K7M2Q-9XDPé"} {
		_, err := NormalizeAttachCode(bad)
		if ErrorCode(err) != EINVALID {
			t.Errorf("NormalizeAttachCode(%q) = %v, want EINVALID", bad, err)
		}
		// The error never repeats what was typed: it might be a real code.
		if len(bad) >= 5 && regexp.MustCompile(regexp.QuoteMeta(bad)).MatchString(err.Error()) {
			t.Errorf("error %q repeats the input", err)
		}
	}
}

func TestNormalizePurchaseID(t *testing.T) {
	if got, err := NormalizePurchaseID(" p-7k3d9qx2m1ab "); err != nil || got != "P-7K3D9QX2M1AB" {
		t.Errorf("NormalizePurchaseID = %q, %v", got, err)
	}
	for _, bad := range []string{"", "7K3D9QX2M1AB", "P-7K3D9QX2M1A", "P-7K3D9QX2M1ABC", "P-7K3D9QX2M1AU"} {
		if _, err := NormalizePurchaseID(bad); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizePurchaseID(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"jane@example.com":  "j***@example.com",
		"j@example.com":     "j***@example.com",
		"élodie@exemple.fr": "é***@exemple.fr",
		"nonsense":          "***",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
