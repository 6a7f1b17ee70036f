package licensing

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
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

// AttachHistory is how far back a confirmed, voided or replaced code is still
// recognised, to answer "already used" rather than "wrong code". It is longer
// than a code lives, so every live request is among those it keeps.
const AttachHistory = 24 * time.Hour

// The states of an attach request. A request is made pending; it leaves that
// state once, to one of the others, and then stays.
const (
	AttachStatePending     = "pending"     // the code works until it expires
	AttachStateUsed        = "used"        // the code moved the licenses
	AttachStateVoid        = "void"        // AttachMaxAttempts wrong codes cancelled it
	AttachStateSuperseded  = "superseded"  // a newer code for the same target replaced it
	AttachStateUndelivered = "undelivered" // the code could not be sent: it never works
)

// AttachTarget is what one attach request moves: every license of a
// purchase, or one license of it.
type AttachTarget struct {
	PurchaseID string
	Key        string // "": the whole purchase
	Email      string // the purchase email, where the code goes
}

// Object names the target in the audit log.
func (t AttachTarget) Object() string {
	if t.Key != "" {
		return t.Key
	}
	return t.PurchaseID
}

// requestCommand is the command that asks for a new code for the target.
func (t AttachTarget) requestCommand() string {
	if t.Key != "" {
		return "licensectl licenses attach --key " + t.Key
	}
	return "licensectl licenses attach --purchase-id " + t.PurchaseID
}

// AlreadyYours is the refusal when none of the target's licenses is left to
// move to the account logged in as login.
func (t AttachTarget) AlreadyYours(login string) error {
	switch {
	case t.Email == login:
		return Errorf(ECONFLICT, "purchase %s was bought with your login email %s: its licenses are already yours", t.PurchaseID, login).
			WithHint("licenses bought with your login email appear in your account by themselves; see `licensectl licenses list --search %s`", t.PurchaseID)
	case t.Key != "":
		return Errorf(ECONFLICT, "license %s is already in your account", t.Key)
	}
	return Errorf(ECONFLICT, "every license of purchase %s is already in your account", t.PurchaseID).
		WithHint("see `licensectl licenses list --search %s`", t.PurchaseID)
}

// AttachCodeHash is the keyed hash (HMAC-SHA256 under the store's secret)
// stored instead of a code in its canonical form.
func AttachCodeHash(secret []byte, code string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(code))
	return m.Sum(nil)
}

// CheckAttachRate refuses one more code when AttachRateLimit requests of the
// same account, or of the same purchase, fall in the last AttachRateWindow,
// and says when the oldest of them leaves it. byAccount and byPurchase are
// when the requests were made that count (every one since
// AttachRateWindowStart that was not undelivered; the newest AttachRateLimit
// are enough), newest first.
func CheckAttachRate(now time.Time, byAccount, byPurchase []time.Time, purchaseID string) error {
	if err := checkAttachRate(now, byAccount,
		fmt.Sprintf("you requested %d confirmation codes in the last hour", AttachRateLimit)); err != nil {
		return err
	}
	return checkAttachRate(now, byPurchase,
		fmt.Sprintf("%d confirmation codes were requested for purchase %s in the last hour", AttachRateLimit, purchaseID))
}

// AttachRateWindowStart is the instant after which requests count against
// the rate limits at now.
func AttachRateWindowStart(now time.Time) time.Time { return now.Add(-AttachRateWindow) }

func checkAttachRate(now time.Time, times []time.Time, what string) error {
	if len(times) < AttachRateLimit {
		return nil
	}
	retry := times[AttachRateLimit-1].Add(AttachRateWindow)
	e := Errorf(ECONFLICT, "too many confirmation codes: %s; retry after %s (%s)",
		what, retry.Format(time.RFC3339), waitText(retry.Sub(now))).
		WithHint("the last code sent is still valid for %d minutes after it was sent", int(AttachCodeTTL/time.Minute))
	return &RetryError{Err: e, RetryAt: retry}
}

// waitText says how long to wait, rounded up to whole minutes.
func waitText(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "in 1 minute"
	}
	return fmt.Sprintf("in %d minutes", m)
}

// StoredAttach is a stored attach request as the rules see it.
type StoredAttach struct {
	Target    AttachTarget // Email: where the code was sent
	State     string       // one of the AttachState constants
	Attempts  int          // wrong codes counted while pending
	ExpiresAt time.Time
	ClosedAt  time.Time // when it left AttachStatePending
}

// Answers tells whether a code that hashes to this request's names it: the
// code of an undelivered request never reached anyone, so it names nothing.
func (r *StoredAttach) Answers() bool { return r.State != AttachStateUndelivered }

// Live tells whether a wrong code counts against the request at now: it is
// pending and its code has not expired.
func (r *StoredAttach) Live(now time.Time) bool {
	return r.State == AttachStatePending && now.Before(r.ExpiresAt)
}

// Refusal says why the request's own code cannot move its licenses at now;
// nil when it can.
func (r *StoredAttach) Refusal(now time.Time) error {
	switch {
	case r.State == AttachStateUsed:
		return Errorf(ECONFLICT, "this confirmation code was already used: the licenses were attached at %s",
			r.ClosedAt.UTC().Format(time.RFC3339)).
			WithHint("see `licensectl licenses list --search %s`", r.Target.PurchaseID)
	case r.State == AttachStateVoid:
		return Errorf(EUNAUTHORIZED, "this confirmation code was cancelled after %d wrong codes", AttachMaxAttempts).
			WithHint("request a new code: %s", r.Target.requestCommand())
	case r.State == AttachStateSuperseded:
		return Errorf(EUNAUTHORIZED, "this confirmation code was replaced by a newer one").
			WithHint("use the code of the latest email")
	case !now.Before(r.ExpiresAt):
		return Errorf(EUNAUTHORIZED, "this confirmation code expired at %s", r.ExpiresAt.UTC().Format(time.RFC3339)).
			WithHint("codes are valid for %d minutes; request a new one: %s", int(AttachCodeTTL/time.Minute), r.Target.requestCommand())
	}
	return nil
}

// WrongAttachCode tallies one wrong code over an account's requests: it
// counts against each live one (Count), and the refusal (Err) says how many
// attempts are left or what it cancelled.
type WrongAttachCode struct {
	live   int
	left   int
	voided []AttachTarget
}

// Count records that a live request has now seen attempts wrong codes, and
// says whether that voids it.
func (w *WrongAttachCode) Count(t AttachTarget, attempts int) (void bool) {
	if w.live == 0 {
		w.left = AttachMaxAttempts
	}
	w.live++
	void = attempts >= AttachMaxAttempts
	if void {
		w.voided = append(w.voided, t)
	}
	w.left = min(w.left, AttachMaxAttempts-attempts)
	return void
}

// Err is the refusal of the wrong code.
func (w *WrongAttachCode) Err() error {
	switch {
	case w.live == 0:
		return Errorf(EUNAUTHORIZED, "no pending attach request matches this code").
			WithHint("codes expire after %d minutes and work only for the account that requested them; request one with `licensectl licenses attach --purchase-id ID` or `--key KEY`",
				int(AttachCodeTTL/time.Minute))
	case len(w.voided) > 0:
		return Errorf(EUNAUTHORIZED, "wrong confirmation code; after %d wrong codes the pending attach of %s was cancelled",
			AttachMaxAttempts, w.voided[0].Object()).
			WithHint("request a new code: %s", w.voided[0].requestCommand())
	}
	return Errorf(EUNAUTHORIZED, "wrong confirmation code (%d attempts left)", w.left).
		WithHint("copy the code from the latest email; after %d wrong codes the request is cancelled", AttachMaxAttempts)
}
