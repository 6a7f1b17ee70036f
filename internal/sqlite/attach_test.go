package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
)

// TestAttachCodeNeverStored greps every file of the store (the database, its
// WAL and shared memory) for the code, in each spelling, while the request
// is pending, after it is confirmed and after the store is closed.
func TestAttachCodeNeverStored(t *testing.T) {
	ctx := context.Background()
	clock := contract.NewClock(contract.Start())
	s := openStore(t, clock)
	dir := filepath.Dir(s.Path())
	outbox := filepath.Join(t.TempDir(), "outbox")
	if _, err := services(s).CreateAccount(ctx, "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := services(s).CreateAccount(ctx, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	ops := licensing.WithAccount(ctx, "ops@example.com")
	b := licensing.WithAccount(ctx, "b@example.com")
	p, err := services(s).Buy(ops, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: 2}}, PurchaseEmail: "jane@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := services(s).RequestAttach(b, licensing.AttachRequest{PurchaseID: p.ID}, &mail.Outbox{Dir: outbox, From: mail.DefaultFrom, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(outbox)
	if err != nil || len(entries) != 1 {
		t.Fatalf("outbox: %v, %v", entries, err)
	}
	raw, err := os.ReadFile(filepath.Join(outbox, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Confirmation code: ([0-9A-Z]{5})-([0-9A-Z]{5})`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no code in %s", raw)
	}
	spellings := [][]byte{append(append(append([]byte{}, m[1]...), '-'), m[2]...), append(append([]byte{}, m[1]...), m[2]...),
		bytes.ToLower(append(append([]byte{}, m[1]...), m[2]...))}
	grep := func(when string) {
		t.Helper()
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, sp := range spellings {
				if bytes.Contains(data, sp) {
					t.Errorf("%s: %s holds the code %s in clear", when, f.Name(), sp)
				}
			}
		}
	}
	grep("pending")

	var hash []byte
	if err := s.r.QueryRowContext(ctx, "SELECT code_hash FROM attach_requests").Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 {
		t.Errorf("stored hash has %d bytes, want an HMAC-SHA256", len(hash))
	}
	if _, err := services(s).ConfirmAttach(b, strings.ToLower(string(spellings[0]))); err != nil {
		t.Fatal(err)
	}
	grep("confirmed")
	evs, err := services(s).ListAudit(b, licensing.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		for _, sp := range spellings {
			if bytes.Contains(ev.Details, sp) || strings.Contains(ev.Object, string(sp)) {
				t.Errorf("audit event %s holds the code", ev.Action)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	grep("closed")
}
