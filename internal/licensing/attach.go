package licensing

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Attach rules. Licenses bought with another email move to an account only
// after the owner of that email confirms with a code sent to it.
const (
	// AttachCodeTTL is how long a confirmation code stays valid.
	AttachCodeTTL = 15 * time.Minute
	// AttachMaxAttempts wrong codes void an account's pending attach requests.
	AttachMaxAttempts = 5
	// AttachRateLimit codes per AttachRateWindow may be requested per account and
	// per purchase: with AttachMaxAttempts guesses per code, that bounds how
	// fast anyone can guess at a purchase.
	AttachRateLimit  = 5
	AttachRateWindow = time.Hour
)

// attachCodeChars is the length of a confirmation code: 50 random bits, which
// a guesser limited to 25 tries an hour per purchase never finds.
const attachCodeChars = 10

// AttachRequest is step 1: the purchase, or the one license, to attach.
// Exactly one field is set.
type AttachRequest struct {
	PurchaseID string `json:"purchase_id,omitempty"`
	Key        string `json:"key,omitempty"`
}

// AttachPending answers step 1: where the code went, never the code.
type AttachPending struct {
	PurchaseID string    `json:"purchase_id"`
	Key        string    `json:"key,omitempty"` // set when one license is attached by key
	Licenses   int       `json:"licenses"`      // how many licenses the code will move
	SentTo     string    `json:"sent_to"`       // the purchase email, masked: j***@example.com
	ExpiresAt  time.Time `json:"expires_at"`
}

// AttachResult answers step 2: the licenses that moved to the acting account.
type AttachResult struct {
	PurchaseID string   `json:"purchase_id"`
	Key        string   `json:"key,omitempty"`
	Account    string   `json:"account"`
	Licenses   []string `json:"licenses"`
	// TransferredFrom names the accounts some of the licenses were taken from
	// (empty when none belonged to an account).
	TransferredFrom []string  `json:"transferred_from"`
	AttachedAt      time.Time `json:"attached_at"`
}

// Mail is a plain-text message to one recipient.
type Mail struct {
	To      string
	Subject string
	Body    string
}

// Mailer delivers mail. internal/mail has the SMTP and outbox implementations.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// AttachService attaches licenses bought with another email to the acting
// account, in two steps.
type AttachService interface {
	// RequestAttach finds the purchase (or license), records a pending attach
	// for the acting account and sends a confirmation code to the purchase
	// email with mailer. A backend that delivers mail itself (the HTTP client:
	// the server sends) ignores mailer, which may then be nil.
	RequestAttach(ctx context.Context, req AttachRequest, mailer Mailer) (*AttachPending, error)
	// ConfirmAttach checks a code of the acting account's pending attaches and
	// moves their licenses to the acting account. A wrong code counts against
	// every pending attach of the account.
	ConfirmAttach(ctx context.Context, code string) (*AttachResult, error)
}

// RetryError is a refusal that time lifts, such as a rate limit. It unwraps
// to its *Error (so the CLI exits with that code) and tells a server what to
// put in Retry-After.
type RetryError struct {
	Err     *Error
	RetryAt time.Time
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the domain error.
func (e *RetryError) Unwrap() error { return e.Err }

// NewAttachCode returns a fresh confirmation code from crypto/rand: ten
// Crockford base32 characters in two groups (K7M2Q-9XDPA).
func NewAttachCode() string {
	var raw [attachCodeChars]byte
	rand.Read(raw[:]) // never fails: crypto/rand panics rather than return an error
	b := make([]byte, 0, attachCodeChars+1)
	for i, r := range raw {
		if i == attachCodeChars/2 {
			b = append(b, '-')
		}
		b = append(b, attachAlphabet[r&31])
	}
	return string(b)
}

// attachAlphabet is Crockford base32, the alphabet of keys and purchase IDs.
const attachAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NormalizeAttachCode returns a typed code in its canonical form: upper
// case, without dashes or spaces, with Crockford's look-alikes (O, I, L)
// read as digits. The message never repeats the code: it is a secret.
func NormalizeAttachCode(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 0x7f || !strings.ContainsRune(attachAlphabet, r) {
			return "", attachCodeMalformed()
		}
		b.WriteRune(r)
	}
	if b.Len() != attachCodeChars {
		return "", attachCodeMalformed()
	}
	return b.String(), nil
}

func attachCodeMalformed() *Error {
	return Errorf(EINVALID, "malformed confirmation code").
		WithHint("codes are %d letters and digits, as in the email (XXXXX-XXXXX)", attachCodeChars)
}

// NormalizePurchaseID checks a purchase ID as typed: "P-" and 12 Crockford
// base32 characters, any case.
func NormalizePurchaseID(s string) (string, error) {
	id := strings.ToUpper(strings.TrimSpace(s))
	rest, ok := strings.CutPrefix(id, "P-")
	if !ok || len(rest) != 12 || strings.ContainsFunc(rest, func(r rune) bool { return !strings.ContainsRune(attachAlphabet, r) }) {
		return "", Errorf(EINVALID, "malformed purchase ID %q", clip(s)).
			WithHint("purchase IDs look like P-7K3D9QX2M1AB (see `licensectl licenses buy` output or `licenses show KEY`)")
	}
	return id, nil
}

// MaskEmail hides most of an address's local part, so output and logs show
// where a code went without giving the address away: j***@example.com.
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	first := []rune(local)[0]
	return string(first) + "***@" + domain
}

// AttachMessage is the email that carries a confirmation code. It names who
// asked, what moves and until when, so the owner of the purchase email can
// tell a request of their own from someone else's.
func AttachMessage(to, requester, code string, p *AttachPending, keys []string) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nthe licensectl account %s asked to attach licenses bought with\n", requester)
	fmt.Fprintf(&b, "this email address (%s) to their account.\n\n", to)
	fmt.Fprintf(&b, "Purchase: %s\n", p.PurchaseID)
	const show = 20
	fmt.Fprintf(&b, "Licenses: %d\n", p.Licenses)
	for i, k := range keys {
		if i == show {
			fmt.Fprintf(&b, "  ... and %d more\n", len(keys)-show)
			break
		}
		fmt.Fprintf(&b, "  %s\n", k)
	}
	fmt.Fprintf(&b, "\nConfirmation code: %s\n", code)
	fmt.Fprintf(&b, "Valid until: %s (%d minutes)\n\n", p.ExpiresAt.UTC().Format(time.RFC3339), int(AttachCodeTTL/time.Minute))
	fmt.Fprintf(&b, "To confirm, the account %s runs:\n\n    licensectl licenses attach --code %s\n\n", requester, code)
	b.WriteString("If you did not expect this, do not share the code: nothing moves\n" +
		"without it. Licenses that leave another account are recorded as a\n" +
		"transfer in the audit logs of both accounts.\n")
	return Mail{To: to, Subject: "licensectl confirmation code for purchase " + p.PurchaseID, Body: b.String()}
}
