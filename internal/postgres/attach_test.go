package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
)

// attachSetup buys licenses for someone@example.com as ops and returns the
// purchase, the account that will attach them and an outbox for the codes.
func attachSetup(t *testing.T, s *Store) (*licensing.Purchase, context.Context, *mail.Outbox) {
	t.Helper()
	ops := newAccount(t, s, "ops@example.com")
	p, err := services(s).Buy(ops, licensing.BuyRequest{PurchaseEmail: "someone@example.com",
		Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 3}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, newAccount(t, s, "me@example.com"),
		&mail.Outbox{Dir: t.TempDir(), From: "licensectl@example.org", Clock: contract.NewClock(contract.Start())}
}

var codeInOutbox = regexp.MustCompile(`Confirmation code: ([0-9A-Z]{5}-[0-9A-Z]{5})`)

// lastCode returns the code of the one message left in the outbox, and
// removes it.
func lastCode(t *testing.T, o *mail.Outbox) string {
	t.Helper()
	entries, err := os.ReadDir(o.Dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("outbox holds %d messages (%v), want 1", len(entries), err)
	}
	path := filepath.Join(o.Dir, entries[0].Name())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	m := codeInOutbox.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no code in:\n%s", raw)
	}
	return string(m[1])
}

// Replicas taking attach requests at once still allow AttachRateLimit of
// them an hour, and leave one code pending.
func TestRaceAttachRateLimit(t *testing.T) {
	s1, s2 := twoPools(t)
	p, me, out := attachSetup(t, s1)
	req := licensing.AttachRequest{PurchaseID: p.ID}
	ok, limited := 0, 0
	for round := range licensing.AttachRateLimit {
		err1, err2 := race(
			func() error { _, err := services(s1).RequestAttach(me, req, out); return err },
			func() error { _, err := services(s2).RequestAttach(me, req, out); return err })
		for _, err := range []error{err1, err2} {
			var re *licensing.RetryError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &re):
				limited++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if ok != licensing.AttachRateLimit || limited != licensing.AttachRateLimit {
		t.Errorf("%d requests taken and %d limited, want %d each", ok, limited, licensing.AttachRateLimit)
	}
	if n := count(t, s1, "SELECT count(*) FROM attach_requests"); n != licensing.AttachRateLimit {
		t.Errorf("%d requests stored, want %d", n, licensing.AttachRateLimit)
	}
	if n := count(t, s1, "SELECT count(*) FROM attach_requests WHERE state = 'pending'"); n != 1 {
		t.Errorf("%d codes pending, want the latest only", n)
	}
}

// Wrong codes sent to two replicas at once each count: none is lost, and the
// request is voided at exactly AttachMaxAttempts.
func TestRaceAttachAttempts(t *testing.T) {
	s1, s2 := twoPools(t)
	p, me, out := attachSetup(t, s1)
	if _, err := services(s1).RequestAttach(me, licensing.AttachRequest{PurchaseID: p.ID}, out); err != nil {
		t.Fatal(err)
	}
	code := lastCode(t, out)
	wrong := []byte(code)
	if wrong[0] == 'A' {
		wrong[0] = 'B'
	} else {
		wrong[0] = 'A'
	}
	confirm := func(s *Store) func() error {
		return func() error { _, err := services(s).ConfirmAttach(me, string(wrong)); return err }
	}
	for round := range 2 {
		err1, err2 := race(confirm(s1), confirm(s2))
		if licensing.ErrorCode(err1) != licensing.EUNAUTHORIZED || licensing.ErrorCode(err2) != licensing.EUNAUTHORIZED {
			t.Fatalf("round %d: %v / %v", round, err1, err2)
		}
	}
	if n := count(t, s1, "SELECT attempts FROM attach_requests"); n != 4 {
		t.Fatalf("4 wrong codes counted as %d attempts", n)
	}
	err1, err2 := race(confirm(s1), confirm(s2))
	if licensing.ErrorCode(err1) != licensing.EUNAUTHORIZED || licensing.ErrorCode(err2) != licensing.EUNAUTHORIZED {
		t.Fatalf("last round: %v / %v", err1, err2)
	}
	if n := count(t, s1, "SELECT count(*) FROM attach_requests WHERE state = 'void' AND attempts = $1", licensing.AttachMaxAttempts); n != 1 {
		t.Fatalf("the request is not void at %d attempts", licensing.AttachMaxAttempts)
	}
	// Now even the right code is refused.
	if _, err := services(s2).ConfirmAttach(me, code); licensing.ErrorCode(err) != licensing.EUNAUTHORIZED {
		t.Fatalf("right code after void: %v", err)
	}
	if n := count(t, s1, "SELECT count(*) FROM licenses WHERE purchase_id = $1 AND account_id IS NOT NULL", p.ID); n != 0 {
		t.Errorf("%d licenses moved", n)
	}
}

// The right code confirmed through two replicas at once moves the licenses
// once; the other confirmation is told the code was used.
func TestRaceAttachConfirm(t *testing.T) {
	s1, s2 := twoPools(t)
	p, me, out := attachSetup(t, s1)
	if _, err := services(s1).RequestAttach(me, licensing.AttachRequest{PurchaseID: p.ID}, out); err != nil {
		t.Fatal(err)
	}
	code := lastCode(t, out)
	var r1, r2 *licensing.AttachResult
	err1, err2 := race(
		func() (err error) { r1, err = services(s1).ConfirmAttach(me, code); return err },
		func() (err error) { r2, err = services(s2).ConfirmAttach(me, code); return err })
	if (err1 == nil) == (err2 == nil) {
		t.Fatalf("want one confirmation, got %v / %v", err1, err2)
	}
	if code := licensing.ErrorCode(firstErr(err1, err2)); code != licensing.ECONFLICT {
		t.Fatalf("second confirmation: %s, want ECONFLICT", code)
	}
	r := r1
	if r == nil {
		r = r2
	}
	if len(r.Licenses) != 3 {
		t.Errorf("moved %v", r.Licenses)
	}
	if n := count(t, s1, "SELECT count(*) FROM audit WHERE action = 'attach.confirm'"); n != 1 {
		t.Errorf("%d attach.confirm events", n)
	}
}

// A body that returns app.ErrRetry - the answer of the attach use cases when
// a guarded write finds its request closed since it was read - is run again
// on fresh rows, not reported as an error.
func TestWriteRerunsOnErrRetry(t *testing.T) {
	s, _ := openSchema(t, contract.NewClock(contract.Start()))
	runs := 0
	err := s.Write(context.Background(), func(tx app.Tx) error {
		runs++
		if runs == 1 {
			return app.ErrRetry
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("Write = %v after %d runs, want nil after 2", err, runs)
	}
}
