package postgres

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/app/storetest"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/paymenttest"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
	"github.com/licensectl/licensectl/internal/webhook"
)

// TestMain finds PostgreSQL for every test of the package, or starts a
// private cluster, once (pgtest.Main); with neither it skips them all,
// saying what to install - except under CI, where it fails.
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, true))
}

// openSchema opens a fresh, seeded store in a schema of its own, dropped when
// the test ends; more opens of the same URL give more pools on that store.
func openSchema(t testing.TB, clock licensing.Clock) (*Store, string) {
	t.Helper()
	_, url, drop := pgtest.NewSchema("lct_test")
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	s := openURL(t, url, clock, true)
	if _, err := services(s).Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, url
}

func openURL(t testing.TB, url string, clock licensing.Clock, create bool) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{Create: create, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// services returns the use cases over a store (PostgreSQL, or the SQLite
// source of a copy), as the CLI and server get them.
func services(s interface {
	app.Backend
	Clock() licensing.Clock
}) *app.App {
	return app.New(s, app.Options{Clock: s.Clock()})
}

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		s, _ := openSchema(t, clock)
		return services(s)
	})
}

func TestReadOne(t *testing.T) {
	s, _ := openSchema(t, nil)
	storetest.ReadOne(t, s)
}

func TestPaymentsContract(t *testing.T) {
	contract.RunPayments(t, func(t *testing.T, clock licensing.Clock, pay *paymenttest.Double) contract.Paid {
		s, _ := openSchema(t, clock)
		svc := app.New(s, app.Options{Clock: s.Clock(), Payments: pay})
		return contract.Paid{Services: svc, Operator: svc, Deliver: func(payload []byte, sig string) error {
			return svc.HandlePaymentEvent(context.Background(), payload, sig)
		}}
	})
}

// The webhooks suite: a second store on the same schema, with its own
// pool, is the other replica (claims with FOR UPDATE SKIP LOCKED).
func TestWebhooksContract(t *testing.T) {
	contract.RunWebhooks(t, func(t *testing.T, clock licensing.Clock) contract.Hooked {
		s, url := openSchema(t, clock)
		hooks := webhook.NewSender(webhook.Options{AllowPrivate: true})
		svc := app.New(s, app.Options{Clock: s.Clock(), Webhooks: hooks})
		replica := app.New(openURL(t, url, clock, false), app.Options{Clock: clock, Webhooks: hooks})
		return contract.Hooked{Services: svc, Dispatch: svc.DispatchWebhooks, Replica: replica.DispatchWebhooks}
	})
}

// An event whose transaction commits after a later-numbered one's is still
// delivered: ids are taken in commit order (flushEvents), so the
// dispatcher's cursor never passes an event still being written.
func TestEventsCommitInIDOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := openSchema(t, nil)
	var mu sync.Mutex
	got := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")] = true
		mu.Unlock()
	}))
	defer srv.Close()
	svc := app.New(s, app.Options{Clock: s.Clock(), Webhooks: webhook.NewSender(webhook.Options{AllowPrivate: true})})
	if _, err := svc.CreateAccount(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	if _, err := svc.CreateWebhook(a, licensing.WebhookCreate{URL: srv.URL, Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	var acct int64
	if err := s.Read(ctx, func(tx app.Tx) (err error) { acct, err = tx.AccountID(ctx, "a@example.com"); return err }); err != nil {
		t.Fatal(err)
	}
	event := func(object string) []app.EventRow {
		return []app.EventRow{{AccountID: acct, Type: licensing.EventLicenseUpdated, Object: object, Time: time.Now(), Data: []byte(`{}`)}}
	}
	inserted, release, slowDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		first := true
		slowDone <- s.Write(ctx, func(tx app.Tx) error {
			if err := tx.InsertEvents(ctx, event("slow")); err != nil {
				return err
			}
			if first {
				first = false
				close(inserted)
				<-release // a later transaction commits its event meanwhile
			}
			return nil
		})
	}()
	<-inserted
	if err := s.Write(ctx, func(tx app.Tx) error { return tx.InsertEvents(ctx, event("fast")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DispatchWebhooks(ctx, app.DispatchOptions{}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DispatchWebhooks(ctx, app.DispatchOptions{}); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.ListEvents(a, licensing.EventFilter{})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range evs {
		if !got[strconv.FormatInt(e.ID, 10)] {
			t.Errorf("event %d (%s) was never delivered: the cursor passed it", e.ID, e.Object)
		}
	}
}
