package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// TestGroupCommitLastSeats: 16 machines of one server race for the two
// free seats of a license while another process holds the write lock, so
// that all of them queue and are committed as one group. Exactly two win,
// the others are refused with ECONFLICT (their failure rolls back only
// their own changes), and seats_used matches the activations.
func TestGroupCommitLastSeats(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensectl.db")
	s, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := services(s)
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a := actingAs(t, s, "a@example.com")
	p, err := svc.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-vm", Quantity: 1, Billing: "monthly"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := p.Licenses[0] // mbs-vm: 2 seats

	other, err := sql.Open("sqlite", dsn(path, "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("UPDATE accounts SET email = email WHERE 0"); err != nil {
		t.Fatal(err)
	}
	_, groupsBefore := s.group.stats()

	const racers = 16
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.Activate(a, licensing.ActivationRequest{LicenseKey: key, Machine: fmt.Sprint("m", i),
				Fingerprint: fmt.Sprint("fp-", i), OS: "windows", Version: "7.9.4"})
		}()
	}
	// The leader waits for the write lock; the others queue behind it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if queued, _ := s.group.stats(); queued == racers {
			break
		}
		if time.Now().After(deadline) {
			queued, _ := s.group.stats()
			t.Fatalf("%d of %d activations queued", queued, racers)
		}
		time.Sleep(time.Millisecond)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	won := 0
	for i, err := range errs {
		switch licensing.ErrorCode(err) {
		case "":
			won++
		case licensing.ECONFLICT:
		default:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if won != 2 {
		t.Errorf("%d machines won the 2 seats", won)
	}
	if _, groups := s.group.stats(); groups-groupsBefore != 1 {
		t.Errorf("%d groups committed the %d queued activations; want 1", groups-groupsBefore, racers)
	}
	var used, acts, audited int
	if err := s.r.QueryRow(`SELECT seats_used, (SELECT count(*) FROM activations),
		(SELECT count(*) FROM audit WHERE action = 'activation.create') FROM licenses WHERE key = ?`, key).Scan(&used, &acts, &audited); err != nil {
		t.Fatal(err)
	}
	if used != 2 || acts != 2 || audited != 2 {
		t.Errorf("seats_used %d, %d activations, %d audited; want 2 each", used, acts, audited)
	}
}
