package httpapi_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/httpapitest"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/paymenttest"
	"github.com/licensectl/licensectl/internal/sqlite"
	"github.com/licensectl/licensectl/internal/webhook"
)

// The contract suite over HTTP: client → a real server on a loopback port →
// SQLite, every request and response checked against docs/openapi.yaml.
func TestContract(t *testing.T) {
	spec := openapicheck.LoadDoc(t)
	contract.Run(t, func(t *testing.T, clock licensing.Clock) licensing.Services {
		ctx := context.Background()
		store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc := app.New(store, app.Options{Clock: clock})
		if _, err := svc.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		return httpapitest.StartChecked(t, spec, svc, clock, httpapi.Options{Rate: 10000})
	})
}

// The payments suite over HTTP: the provider's webhooks go to the server's
// POST /v1/webhooks/stripe with their signature header.
func TestPaymentsContract(t *testing.T) {
	spec := openapicheck.LoadDoc(t)
	contract.RunPayments(t, func(t *testing.T, clock licensing.Clock, pay *paymenttest.Double) contract.Paid {
		ctx := context.Background()
		store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc := app.New(store, app.Options{Clock: clock, Payments: pay})
		if _, err := svc.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		r := httpapitest.StartChecked(t, spec, svc, clock, httpapi.Options{Rate: 10000})
		return contract.Paid{Services: r, Operator: r.Op, Deliver: func(payload []byte, sig string) error {
			return httpapitest.PostWebhook(r.URL, payload, sig)
		}}
	})
}

// The webhooks suite over HTTP: endpoints and deliveries through the API,
// the server's dispatcher delivering.
func TestWebhooksContract(t *testing.T) {
	spec := openapicheck.LoadDoc(t)
	contract.RunWebhooks(t, func(t *testing.T, clock licensing.Clock) contract.Hooked {
		ctx := context.Background()
		store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc := app.New(store, app.Options{Clock: clock, Webhooks: webhook.NewSender(webhook.Options{AllowPrivate: true})})
		if _, err := svc.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		r := httpapitest.StartChecked(t, spec, svc, clock, httpapi.Options{Rate: 10000})
		return contract.Hooked{Services: r, Dispatch: svc.DispatchWebhooks, Replica: svc.DispatchWebhooks}
	})
}
