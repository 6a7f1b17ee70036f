package contract

import (
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
)

// attachEnv is an attach subtest's service and the outbox its codes go to.
type attachEnv struct {
	*env
	svc    licensing.AttachService
	outbox string
	mailer licensing.Mailer
	ops    context.Context // the account that buys for other emails
}

// OutboxBackend is implemented by a backend that sends codes with a mailer
// of its own (a server behind the HTTP client ignores the mailer it is
// passed): the attach subtests read the codes from its outbox directory.
type OutboxBackend interface {
	OutboxDir() string
}

func newAttachEnv(t *testing.T, e *env) *attachEnv {
	svc := e.svc
	dir := filepath.Join(t.TempDir(), "outbox")
	if ob, ok := e.svc.(OutboxBackend); ok {
		dir = ob.OutboxDir()
	}
	return &attachEnv{env: e, svc: svc, outbox: dir, ops: e.account("ops@example.com"),
		mailer: &mail.Outbox{Dir: dir, From: "licensectl@example.org", Clock: e.clock}}
}

// buyFor buys n licenses of backup-desktop with another purchase email.
func (a *attachEnv) buyFor(email string, n int) *licensing.Purchase {
	r := req(line("backup-desktop", n))
	r.PurchaseEmail = email
	return a.buy(a.ops, r)
}

func (a *attachEnv) request(ctx context.Context, r licensing.AttachRequest) *licensing.AttachPending {
	a.t.Helper()
	p, err := a.svc.RequestAttach(ctx, r, a.mailer)
	if err != nil {
		a.t.Fatalf("RequestAttach(%+v): %v", r, err)
	}
	return p
}

var codeInMail = regexp.MustCompile(`Confirmation code: ([0-9A-Z]{5}-[0-9A-Z]{5})`)

// takeMail reads and removes the one message in the outbox.
func (a *attachEnv) takeMail() (*netmail.Message, string) {
	a.t.Helper()
	entries, err := os.ReadDir(a.outbox)
	if err != nil || len(entries) != 1 {
		a.t.Fatalf("outbox holds %d messages (%v), want 1", len(entries), err)
	}
	path := filepath.Join(a.outbox, entries[0].Name())
	raw, err := os.ReadFile(path)
	if err != nil {
		a.t.Fatal(err)
	}
	os.Remove(path)
	msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		a.t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		a.t.Fatal(err)
	}
	return msg, string(body)
}

// code requests an attach and returns the code from its email.
func (a *attachEnv) code(ctx context.Context, r licensing.AttachRequest) string {
	a.t.Helper()
	a.request(ctx, r)
	_, body := a.takeMail()
	m := codeInMail.FindStringSubmatch(body)
	if m == nil {
		a.t.Fatalf("no code in the email:\n%s", body)
	}
	return m[1]
}

// wrongCode returns a well-formed code that differs from code.
func wrongCode(code string) string {
	c := []byte(code)
	if c[0] == 'A' {
		c[0] = 'B'
	} else {
		c[0] = 'A'
	}
	return string(c)
}

func byPurchase(id string) licensing.AttachRequest { return licensing.AttachRequest{PurchaseID: id} }
func byKey(key string) licensing.AttachRequest     { return licensing.AttachRequest{Key: key} }

func testAttachByPurchase(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("Jane@Example.com", 3)
	b := e.account("b@example.com")

	pending := a.request(b, byPurchase(strings.ToLower(p.ID)))
	want := licensing.AttachPending{PurchaseID: p.ID, Licenses: 3, SentTo: "j***@example.com", ExpiresAt: Start().Add(15 * time.Minute)}
	if *pending != want {
		t.Errorf("RequestAttach = %+v, want %+v", *pending, want)
	}
	msg, body := a.takeMail()
	if msg.Header.Get("To") != "jane@example.com" || !strings.Contains(msg.Header.Get("Subject"), p.ID) {
		t.Errorf("mail headers: %v", msg.Header)
	}
	for _, s := range append([]string{p.ID, "b@example.com", "2025-03-10T12:15:00Z"}, p.Licenses...) {
		if !strings.Contains(body, s) {
			t.Errorf("mail body lacks %q:\n%s", s, body)
		}
	}
	code := codeInMail.FindStringSubmatch(body)[1]
	if n := len(e.list(b, licensing.LicenseFilter{})); n != 0 {
		t.Fatalf("licenses moved before the code was confirmed: %d", n)
	}

	// Any spelling of the code works: lower case, no dash.
	res, err := a.svc.ConfirmAttach(b, strings.ToLower(strings.ReplaceAll(code, "-", "")))
	if err != nil {
		t.Fatal(err)
	}
	if res.PurchaseID != p.ID || res.Account != "b@example.com" || !slices.Equal(res.Licenses, p.Licenses) ||
		len(res.TransferredFrom) != 0 || !res.AttachedAt.Equal(Start()) {
		t.Errorf("ConfirmAttach = %+v", res)
	}
	if got := e.keys(b, licensing.LicenseFilter{}); !slices.Equal(got, p.Licenses) {
		t.Errorf("b's licenses = %v, want %v", got, p.Licenses)
	}

	// Single use.
	_, err = a.svc.ConfirmAttach(b, code)
	wantCode(t, err, licensing.ECONFLICT, "code used twice")
	if !strings.Contains(licensing.ErrorMessage(err), "already used") {
		t.Errorf("second use: %v", err)
	}
	// Nothing is left to attach.
	_, err = a.svc.RequestAttach(b, byPurchase(p.ID), a.mailer)
	wantCode(t, err, licensing.ECONFLICT, "attach a purchase already in the account")

	evs := e.audit(b, licensing.AuditFilter{Action: "attach."})
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
		if strings.Contains(string(ev.Details), code) || strings.Contains(string(ev.Details), strings.ReplaceAll(code, "-", "")) {
			t.Errorf("audit event %s holds the code: %s", ev.Action, ev.Details)
		}
	}
	if !slices.Equal(actions, []string{"attach.confirm", "attach.request"}) {
		t.Errorf("audit actions = %v", actions)
	}
}

func testAttachByKeyTransfers(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	owner := e.account("jane@example.com")
	p := a.buyFor("jane@example.com", 2) // jane's at once
	e.company(owner, "Acme")
	if _, err := e.svc.UpdateLicense(owner, p.Licenses[0], licensing.LicenseUpdate{Company: ptr("Acme")}); err != nil {
		t.Fatal(err)
	}
	b := e.account("b@example.com")
	code := a.code(b, byKey(strings.ToLower(p.Licenses[0])))
	res, err := a.svc.ConfirmAttach(b, code)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Licenses, p.Licenses[:1]) || !slices.Equal(res.TransferredFrom, []string{"jane@example.com"}) || res.Key != p.Licenses[0] {
		t.Errorf("ConfirmAttach = %+v", res)
	}
	// The key moved alone, out of its company (companies are per account).
	if l := e.license(b, p.Licenses[0]); l.Company != nil {
		t.Errorf("transferred license kept company %v", *l.Company)
	}
	if got := e.keys(owner, licensing.LicenseFilter{}); !slices.Equal(got, p.Licenses[1:]) {
		t.Errorf("jane keeps %v, want %v", got, p.Licenses[1:])
	}
	// Both accounts' logs record the transfer.
	for who, ctx := range map[string]context.Context{"jane": owner, "b": b} {
		evs := e.audit(ctx, licensing.AuditFilter{Action: "license.transfer"})
		if len(evs) != 1 || evs[0].Object != p.Licenses[0] || !strings.Contains(string(evs[0].Details), `"from":"jane@example.com"`) ||
			!strings.Contains(string(evs[0].Details), `"to":"b@example.com"`) {
			t.Errorf("%s's transfer events: %+v", who, evs)
		}
	}
}

func testAttachWrongCodes(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 1)
	b := e.account("b@example.com")
	code := a.code(b, byPurchase(p.ID))
	for i := 1; i <= licensing.AttachMaxAttempts; i++ {
		_, err := a.svc.ConfirmAttach(b, wrongCode(code))
		wantCode(t, err, licensing.EUNAUTHORIZED, "wrong code")
		msg := licensing.ErrorMessage(err)
		if i < licensing.AttachMaxAttempts && !strings.Contains(msg, "attempts left") ||
			i == licensing.AttachMaxAttempts && !strings.Contains(msg, "cancelled") {
			t.Errorf("wrong code %d: %q", i, msg)
		}
	}
	// The right code no longer works either, and nothing moved.
	_, err := a.svc.ConfirmAttach(b, code)
	wantCode(t, err, licensing.EUNAUTHORIZED, "right code after 5 wrong ones")
	if n := len(e.list(b, licensing.LicenseFilter{})); n != 0 {
		t.Errorf("b got %d licenses", n)
	}
	// A new code works.
	code = a.code(b, byPurchase(p.ID))
	if _, err := a.svc.ConfirmAttach(b, code); err != nil {
		t.Fatal(err)
	}
}

func testAttachExpiry(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 1)
	b := e.account("b@example.com")
	code := a.code(b, byPurchase(p.ID))
	e.clock.Add(licensing.AttachCodeTTL)
	_, err := a.svc.ConfirmAttach(b, code)
	wantCode(t, err, licensing.EUNAUTHORIZED, "expired code")
	if !strings.Contains(licensing.ErrorMessage(err), "expired") {
		t.Errorf("expired code: %v", err)
	}
	if n := len(e.list(b, licensing.LicenseFilter{})); n != 0 {
		t.Errorf("an expired code moved %d licenses", n)
	}
	code = a.code(b, byPurchase(p.ID))
	e.clock.Add(licensing.AttachCodeTTL - time.Second)
	if _, err := a.svc.ConfirmAttach(b, code); err != nil {
		t.Fatalf("code a second before expiry: %v", err)
	}
}

func testAttachOtherAccount(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 1)
	b := e.account("b@example.com")
	c := e.account("c@example.com")
	code := a.code(b, byPurchase(p.ID))
	for range licensing.AttachMaxAttempts + 1 {
		_, err := a.svc.ConfirmAttach(c, code)
		wantCode(t, err, licensing.EUNAUTHORIZED, "another account's code")
	}
	if n := len(e.list(c, licensing.LicenseFilter{})); n != 0 {
		t.Errorf("c got %d licenses with b's code", n)
	}
	// c's tries did not count against b's request.
	if _, err := a.svc.ConfirmAttach(b, code); err != nil {
		t.Fatal(err)
	}
}

func testAttachSuperseded(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 1)
	b := e.account("b@example.com")
	first := a.code(b, byPurchase(p.ID))
	second := a.code(b, byPurchase(p.ID))
	_, err := a.svc.ConfirmAttach(b, first)
	wantCode(t, err, licensing.EUNAUTHORIZED, "replaced code")
	if _, err := a.svc.ConfirmAttach(b, second); err != nil {
		t.Fatal(err)
	}
}

func testAttachRateLimit(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 2)
	b := e.account("b@example.com")
	c := e.account("c@example.com")

	// Per purchase, whoever asks.
	for i := range licensing.AttachRateLimit {
		who := b
		if i%2 == 1 {
			who = c
		}
		a.code(who, byKey(p.Licenses[i%2]))
		e.clock.Add(time.Minute)
	}
	_, err := a.svc.RequestAttach(c, byPurchase(p.ID), a.mailer)
	wantCode(t, err, licensing.ECONFLICT, "sixth code for a purchase within an hour")
	var re *licensing.RetryError
	if !errors.As(err, &re) || !re.RetryAt.Equal(Start().Add(time.Hour)) {
		t.Fatalf("rate limit error %v, want RetryAt %v", err, Start().Add(time.Hour))
	}
	if msg := licensing.ErrorMessage(err); !strings.Contains(msg, "retry after 2025-03-10T13:00:00Z") {
		t.Errorf("rate limit message %q", msg)
	}
	if entries, _ := os.ReadDir(a.outbox); len(entries) != 0 {
		t.Errorf("a refused request sent mail")
	}
	e.clock.Set(Start().Add(time.Hour))
	a.code(c, byPurchase(p.ID))

	// Per account, whatever it asks for.
	e.clock.Set(Start().Add(3 * time.Hour))
	var ps []*licensing.Purchase
	for range licensing.AttachRateLimit + 1 {
		ps = append(ps, a.buyFor("jane@example.com", 1))
	}
	for _, q := range ps[:licensing.AttachRateLimit] {
		a.code(b, byPurchase(q.ID))
	}
	_, err = a.svc.RequestAttach(b, byPurchase(ps[licensing.AttachRateLimit].ID), a.mailer)
	wantCode(t, err, licensing.ECONFLICT, "sixth code for an account within an hour")
	if !errors.As(err, &re) || !re.RetryAt.Equal(Start().Add(4*time.Hour)) {
		t.Errorf("per-account rate limit error %v", err)
	}
}

func testAttachRefusals(t *testing.T, e *env) {
	a := newAttachEnv(t, e)
	jane := e.account("jane@example.com")
	p := a.buyFor("jane@example.com", 1)
	b := e.account("b@example.com")
	unknownKey, err := licensekey.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ctx  context.Context
		req  licensing.AttachRequest
		code string
		what string
	}{
		{b, licensing.AttachRequest{}, licensing.EINVALID, "neither purchase nor key"},
		{b, licensing.AttachRequest{PurchaseID: p.ID, Key: p.Licenses[0]}, licensing.EINVALID, "both"},
		{b, byKey("ABCDE-12345"), licensing.EINVALID, "malformed key"},
		{b, byPurchase("P-123"), licensing.EINVALID, "malformed purchase ID"},
		{b, byPurchase("P-000000000000"), licensing.ENOTFOUND, "unknown purchase"},
		{b, byKey(unknownKey), licensing.ENOTFOUND, "unknown key"},
		{jane, byPurchase(p.ID), licensing.ECONFLICT, "bought with your login email"},
		{jane, byKey(p.Licenses[0]), licensing.ECONFLICT, "key bought with your login email"},
		{context.Background(), byPurchase(p.ID), licensing.EUNAUTHORIZED, "no acting account"},
	} {
		_, err := a.svc.RequestAttach(c.ctx, c.req, a.mailer)
		wantCode(t, err, c.code, c.what)
	}
	_, err = a.svc.RequestAttach(jane, byPurchase(p.ID), a.mailer)
	if !strings.Contains(licensing.ErrorMessage(err), "already yours") {
		t.Errorf("own purchase: %v", err)
	}
	for _, bad := range []string{"", "short", "K7M2Q-9XDPU", "K7M2Q-9XDPA-1"} {
		_, err := a.svc.ConfirmAttach(b, bad)
		wantCode(t, err, licensing.EINVALID, "malformed code "+bad)
	}
	_, err = a.svc.ConfirmAttach(b, "K7M2Q-9XDPA")
	wantCode(t, err, licensing.EUNAUTHORIZED, "code without a pending request")
	if entries, _ := os.ReadDir(a.outbox); len(entries) != 0 {
		t.Errorf("refused requests sent %d messages", len(entries))
	}
	if n := len(e.list(b, licensing.LicenseFilter{})); n != 0 {
		t.Errorf("b got %d licenses", n)
	}
	if got := e.keys(jane, licensing.LicenseFilter{}); !slices.Equal(got, p.Licenses) {
		t.Errorf("jane's licenses = %v", got)
	}
}

func testAttachUndelivered(t *testing.T, e *env) {
	if _, ok := e.svc.(OutboxBackend); ok {
		t.Skip("the backend delivers with its own mailer")
	}
	a := newAttachEnv(t, e)
	p := a.buyFor("jane@example.com", 1)
	b := e.account("b@example.com")
	// An outbox path that is a file: delivery really fails.
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	broken := &mail.Outbox{Dir: blocked, From: "licensectl@example.org", Clock: e.clock}
	for range licensing.AttachRateLimit + 1 {
		_, err := a.svc.RequestAttach(b, byPurchase(p.ID), broken)
		wantCode(t, err, licensing.EINTERNAL, "undeliverable code")
		if !strings.Contains(licensing.ErrorMessage(err), "j***@example.com") {
			t.Errorf("delivery error %q does not say where", licensing.ErrorMessage(err))
		}
	}
	// Failed deliveries neither work nor count against the rate limit.
	_, err := a.svc.ConfirmAttach(b, "K7M2Q-9XDPA")
	wantCode(t, err, licensing.EUNAUTHORIZED, "code of an undelivered request")
	code := a.code(b, byPurchase(p.ID))
	if _, err := a.svc.ConfirmAttach(b, code); err != nil {
		t.Fatal(err)
	}
}
