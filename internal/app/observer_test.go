package app_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// observerDouble is a test double of app.Observer that records its calls.
type observerDouble struct {
	mu   sync.Mutex
	txs  []txCall
	runs []runCall
	ran  chan struct{}
}

type txCall struct {
	kind     string
	attempts int
	err      error
}

type runCall struct {
	trigger          string
	renewed, expired int
	err              error
}

func (o *observerDouble) StoreTx(kind string, took time.Duration, attempts int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took <= 0 {
		panic("a transaction took no time")
	}
	o.txs = append(o.txs, txCall{kind, attempts, err})
}

func (o *observerDouble) RenewalsRun(trigger string, run *licensing.RenewalRun, err error) {
	o.mu.Lock()
	c := runCall{trigger: trigger, err: err}
	if run != nil {
		c.renewed, c.expired = run.Renewed, run.Expired
	}
	o.runs = append(o.runs, c)
	o.mu.Unlock()
	if o.ran != nil {
		o.ran <- struct{}{}
	}
}

func (o *observerDouble) WebhookAttempt(string, time.Duration) {}

func (o *observerDouble) last() txCall {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.txs[len(o.txs)-1]
}

// rerunningStore is a test double of the store port around a real store:
// its Write runs the body once in a transaction it then rolls back, as
// PostgreSQL does after a serialization failure, and again for real.
type rerunningStore struct{ app.Backend }

var errLostRace = errors.New("lost a race (test)")

func (s rerunningStore) Write(ctx context.Context, fn func(app.Tx) error) error {
	err := s.Backend.Write(ctx, func(tx app.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errLostRace
	})
	if !errors.Is(err, errLostRace) {
		return err
	}
	return s.Backend.Write(ctx, fn)
}

func openStore(t *testing.T, clock licensing.Clock) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The observer hears of every transaction: its kind, how many times its
// body ran and how it ended.
func TestObserverSeesTransactions(t *testing.T) {
	clock := licensing.FixedClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	db := openStore(t, clock)
	obs := &observerDouble{}
	a := app.New(db, app.Options{Clock: clock, Observer: obs})
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := a.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := obs.last(); got != (txCall{"write", 1, nil}) {
		t.Fatalf("create account: %+v", got)
	}
	if _, err := a.ListActivations(ctx, licensing.ActivationFilter{}); err != nil {
		t.Fatal(err)
	}
	if got := obs.last(); got != (txCall{"read", 1, nil}) {
		t.Fatalf("list activations: %+v", got)
	}
	_, err := a.ListActivations(licensing.WithAccount(context.Background(), "nobody@example.com"), licensing.ActivationFilter{})
	if got := obs.last(); got.kind != "read" || got.err == nil || !errors.Is(got.err, err) {
		t.Fatalf("a refused read: %+v (returned %v)", got, err)
	}

	// A store that reran the body: two attempts, one account.
	rerun := app.New(rerunningStore{db}, app.Options{Clock: clock, Observer: obs})
	if _, err := rerun.CreateAccount(ctx, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := obs.last(); got != (txCall{"write", 2, nil}) {
		t.Fatalf("a rerun write: %+v, want 2 attempts", got)
	}
	accounts, err := a.ListAccounts(context.Background())
	if err != nil || len(accounts) != 2 {
		t.Fatalf("accounts after the rerun: %v %v", accounts, err)
	}
}

// Renewals runs are reported with their trigger: on demand (the API, the
// CLI) or on serve's schedule; and active activations are counted by mode
// over every account.
func TestObserverSeesRenewalsRunsAndActivationsCount(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	db := openStore(t, licensing.FixedClock(t0))
	ctx := licensing.WithAccount(context.Background(), "a@example.com")
	buyer := app.New(db, app.Options{Clock: licensing.FixedClock(t0)})
	if _, err := buyer.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	p, err := buyer.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "mbs-server", Quantity: 2, Billing: licensing.BillingMonthly}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.Activate(ctx, licensing.ActivationRequest{LicenseKey: p.Licenses[0], Machine: "build-1", Fingerprint: "fp-1", OS: "windows", Version: "6.0"}); err != nil {
		t.Fatal(err)
	}
	if n, err := buyer.ActiveActivations(context.Background()); err != nil || n["online"] != 1 || n["offline"] != 0 {
		t.Fatalf("active activations %v %v, want 1 online", n, err)
	}

	later := licensing.FixedClock(t0.AddDate(0, 1, 5))
	obs := &observerDouble{ran: make(chan struct{}, 4)}
	a := app.New(db, app.Options{Clock: later, Observer: obs})
	if _, err := a.RunRenewals(ctx, time.Time(later)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RunRenewals(ctx, time.Time(later).AddDate(1, 0, 0)); err == nil {
		t.Fatal("a run past now was not refused")
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.RunRenewalsEvery(runCtx, time.Hour, slog.New(slog.DiscardHandler)); close(done) }()
	for range 3 {
		<-obs.ran
	}
	stop()
	<-done
	want := []runCall{{trigger: "on_demand", renewed: 2}, {trigger: "on_demand"}, {trigger: "schedule"}}
	if len(obs.runs) != 3 || obs.runs[0] != want[0] || obs.runs[1].trigger != "on_demand" || obs.runs[1].err == nil || obs.runs[2] != want[2] {
		t.Fatalf("runs %+v, want %+v (the second with an error)", obs.runs, want)
	}
}
