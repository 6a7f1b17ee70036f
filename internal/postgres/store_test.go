package postgres

import (
	"context"
	"os"
	"testing"

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
