package licensing

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
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

func TestCheckAttachRate(t *testing.T) {
	now := time.Date(2025, 3, 10, 13, 30, 0, 0, time.UTC)
	// times are newest first: the AttachRateLimit-th newest leaves the window first.
	times := func(n int) []time.Time {
		var out []time.Time
		for i := range n {
			out = append(out, now.Add(-time.Duration(i*10)*time.Minute))
		}
		return out
	}
	if err := CheckAttachRate(now, times(AttachRateLimit-1), times(AttachRateLimit-1), "P-7K3D9QX2M1AB"); err != nil {
		t.Fatalf("%d requests refused: %v", AttachRateLimit-1, err)
	}
	err := CheckAttachRate(now, times(AttachRateLimit-1), times(AttachRateLimit), "P-7K3D9QX2M1AB")
	var re *RetryError
	if !errors.As(err, &re) || ErrorCode(err) != ECONFLICT {
		t.Fatalf("purchase over the limit: %v", err)
	}
	if want := now.Add(-40 * time.Minute).Add(AttachRateWindow); !re.RetryAt.Equal(want) {
		t.Errorf("RetryAt = %v, want %v", re.RetryAt, want)
	}
	if msg := ErrorMessage(err); !strings.Contains(msg, "for purchase P-7K3D9QX2M1AB") || !strings.Contains(msg, "in 20 minutes") {
		t.Errorf("purchase limit message %q", msg)
	}
	// The account's limit is checked first.
	err = CheckAttachRate(now, times(AttachRateLimit), times(AttachRateLimit), "P-7K3D9QX2M1AB")
	if msg := ErrorMessage(err); !strings.HasPrefix(msg, "too many confirmation codes: you requested") {
		t.Errorf("account limit message %q", msg)
	}
}

func TestStoredAttachStates(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	target := AttachTarget{PurchaseID: "P-7K3D9QX2M1AB", Email: "jane@example.com"}
	for _, c := range []struct {
		state     string
		expires   time.Time
		live      bool
		answers   bool
		code      string // of Refusal; "" for none
		inMessage string
	}{
		{AttachStatePending, now.Add(time.Second), true, true, "", ""},
		{AttachStatePending, now, false, true, EUNAUTHORIZED, "expired"},
		{AttachStateUsed, now.Add(time.Minute), false, true, ECONFLICT, "already used"},
		{AttachStateVoid, now.Add(time.Minute), false, true, EUNAUTHORIZED, "cancelled"},
		{AttachStateSuperseded, now.Add(time.Minute), false, true, EUNAUTHORIZED, "replaced"},
		{AttachStateUndelivered, now.Add(time.Minute), false, false, "", ""},
	} {
		r := StoredAttach{Target: target, State: c.state, ExpiresAt: c.expires, ClosedAt: now}
		if r.Live(now) != c.live || r.Answers() != c.answers {
			t.Errorf("%s expiring %v: live %v answers %v", c.state, c.expires, r.Live(now), r.Answers())
		}
		if c.state == AttachStateUndelivered {
			continue // never matched, so never judged
		}
		err := r.Refusal(now)
		if c.code == "" && err != nil || c.code != "" && (ErrorCode(err) != c.code || !strings.Contains(ErrorMessage(err), c.inMessage)) {
			t.Errorf("%s expiring %v: Refusal = %v", c.state, c.expires, err)
		}
	}
}

func TestWrongAttachCode(t *testing.T) {
	var none WrongAttachCode
	if msg := ErrorMessage(none.Err()); !strings.Contains(msg, "no pending attach request") {
		t.Errorf("no live request: %q", msg)
	}
	var w WrongAttachCode
	a := AttachTarget{PurchaseID: "P-7K3D9QX2M1AB"}
	b := AttachTarget{PurchaseID: "P-7K3D9QX2M1AC", Key: "KEY"}
	if w.Count(a, 1) || w.Count(b, 3) {
		t.Fatal("void before AttachMaxAttempts")
	}
	if err := w.Err(); ErrorCode(err) != EUNAUTHORIZED || !strings.Contains(ErrorMessage(err), "(2 attempts left)") {
		t.Errorf("fewest attempts left: %v", err)
	}
	if !w.Count(b, AttachMaxAttempts) {
		t.Fatal("not void at AttachMaxAttempts")
	}
	if msg := ErrorMessage(w.Err()); !strings.Contains(msg, "pending attach of KEY was cancelled") {
		t.Errorf("voided: %q", msg)
	}
}
