package licensing

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensekey"
)

// NewLicenseTerms answers a new license's kind, auto-renew flag and expiry
// (0: never): trials run TrialDays and never renew, subscriptions run one
// billing period and renew, lifetime licenses never expire.
func NewLicenseTerms(trial bool, term string, now time.Time) (kind string, autoRenew bool, expires int64) {
	switch {
	case trial:
		return KindTrial, false, now.AddDate(0, 0, TrialDays).Unix()
	case term == LicenseTermMonthly:
		return KindCommercial, true, now.AddDate(0, 1, 0).Unix()
	case term == LicenseTermAnnual:
		return KindCommercial, true, now.AddDate(1, 0, 0).Unix()
	}
	return KindCommercial, false, 0
}

// CheckAutoRenew allows a license's auto-renew switch on subscriptions only,
// and says why not otherwise.
func CheckAutoRenew(key, kind, term string) error {
	switch {
	case kind == KindTrial:
		return Errorf(EINVALID, "license %s is a trial: trials never renew", key).
			WithHint("buy the product to keep using it")
	case term == LicenseTermPerpetual:
		return Errorf(EINVALID, "license %s is a lifetime license: it has no renewal", key).
			WithHint("maintenance plans carry their own auto-renew: see `licensectl maintenance set`")
	}
	return nil
}

// RequestHash identifies what a request asks for, so that a retried request
// is told apart from a different one that reuses its idempotency key. Any
// request type may be hashed; types differ in their JSON fields, so a key
// reused across request types is a conflict too.
func RequestHash(req any) (string, error) {
	js, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:]), nil
}

// ParseKey checks a license key's form and check character and returns it
// canonical; a typo answers "malformed" (EINVALID: exit 2), not "not found".
// The message quotes the key as typed, clipped and with control characters
// shown as '?', so it is safe at a terminal and in a log line.
func ParseKey(key string) (string, error) {
	k, err := licensekey.Parse(key)
	if err != nil {
		return "", Errorf(EINVALID, "malformed license key %q", ClipArg(key)).
			WithHint("keys look like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX (Crockford base32 with a check character)")
	}
	return k, nil
}

// ClipArg is s as a message may quote it: at most 40 bytes and no control
// characters.
func ClipArg(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
