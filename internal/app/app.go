// Package app holds every use case of licensectl once: buying, listing and
// changing licenses, activations, maintenance, renewals, attach, tokens,
// audit. It implements the licensing services over a small transactional
// store port (Store, Tx), which the SQLite and PostgreSQL stores implement
// with SQL only. The CLI's local backend and the HTTP server are both handed
// an *App, so a rule is written, and changed, in one place.
package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/artifacts"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/webhook"
)

// Backend is what a store hands to New: the port, and the store's own
// life cycle and health checks.
type Backend interface {
	Store
	Close() error
	// Ping checks the store answers, for a server's readiness probe.
	Ping(ctx context.Context) error
	// ProbeWrite checks the store can write (not full, not read-only).
	ProbeWrite(ctx context.Context) error
	TokenLookup
}

// Options tune an App.
type Options struct {
	// Clock tells the time; nil means licensing.SystemClock.
	Clock licensing.Clock
	// Observer is told how transactions and renewals runs went (a server's
	// metrics); nil tells no one.
	Observer Observer
	// Mailer sends receipts after a purchase or refund commits; nil sends
	// none.
	Mailer licensing.Mailer
	// Seller is who receipts name as the seller ("" : licensectl).
	Seller string
	// RefundWindow is how long after a purchase its buyer may refund it;
	// 0 means licensing.DefaultRefundWindow.
	RefundWindow time.Duration
	// Payments is the payment provider; nil records purchases as paid.
	Payments Payments
	// Grace is how long a subscription whose renewal charge failed stays
	// valid (past due); 0 means licensing.DefaultGrace.
	Grace time.Duration
	// Artifacts is the directory of build artifacts ("" none).
	Artifacts string
	// Webhooks sends webhooks; nil: a webhook.Sender with its defaults
	// (10 s timeout, private addresses refused).
	Webhooks WebhookSender
}

// Observer is told what the use cases did, for a server's metrics.
type Observer interface {
	// StoreTx reports one Read or Write of the store: kind "read" or
	// "write", its time in all (wall time, retries included), how many
	// times its body ran (more than once when the store reran it after a
	// lost race) and the error it ended with.
	StoreTx(kind string, took time.Duration, attempts int, err error)
	// RenewalsRun reports one run of the renewals engine (never a dry run):
	// trigger "schedule" (RunRenewalsEvery) or "on_demand", and its result.
	RenewalsRun(trigger string, run *licensing.RenewalRun, err error)
	// WebhookAttempt reports one attempt of a webhook delivery: outcome
	// delivered, retry (it failed and will be retried) or failed (given
	// up), and how long the endpoint took.
	WebhookAttempt(outcome string, took time.Duration)
}

// App implements the licensing services over a Store.
type App struct {
	store        Backend
	clock        licensing.Clock
	obs          Observer
	mailer       licensing.Mailer
	seller       string
	refundWindow time.Duration
	pay          Payments
	grace        time.Duration
	// artifacts holds the bytes of builds; fetch gets upstream builds.
	artifacts artifacts.Dir
	fetch     *http.Client
	seen      *seenLog    // validations' last seen times, written in batches
	tokens    *tokenCache // Authenticate's token records, for up to a second
	hooks     WebhookSender
	// wake tells this process's webhook dispatcher a write committed.
	wake chan struct{}
}

// New returns the use cases over a store.
func New(b Backend, opt Options) *App {
	clock := opt.Clock
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	window := opt.RefundWindow
	if window <= 0 {
		window = licensing.DefaultRefundWindow
	}
	seller := opt.Seller
	if seller == "" {
		seller = "licensectl"
	}
	out := &App{store: b, clock: clock, obs: opt.Observer, mailer: opt.Mailer, seller: seller, refundWindow: window,
		pay: opt.Payments, grace: opt.Grace, artifacts: artifacts.Dir(opt.Artifacts),
		fetch: &http.Client{Timeout: 0, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 30 * time.Second}}}
	if out.grace <= 0 {
		out.grace = licensing.DefaultGrace
	}
	out.hooks, out.wake = opt.Webhooks, make(chan struct{}, 1)
	if out.hooks == nil {
		out.hooks = webhook.NewSender(webhook.Options{})
	}
	out.seen = newSeenLog(out.writeSeen)
	out.tokens = newTokenCache()
	return out
}

// closeFlushWait bounds Close's write of the last seen times still queued.
const closeFlushWait = 10 * time.Second

// Close writes the last seen times validations queued and closes the store.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushWait)
	defer cancel()
	return errors.Join(a.seen.close(ctx), a.store.Close())
}

// Ping checks the store answers.
func (a *App) Ping(ctx context.Context) error { return a.store.Ping(ctx) }

// ProbeWrite checks the store can write.
func (a *App) ProbeWrite(ctx context.Context) error { return a.store.ProbeWrite(ctx) }

// now is the clock's time in whole seconds, the precision the stores keep, so
// that what a use case returns equals what a later read finds.
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Second) }

// write runs body in one write transaction and returns what its last attempt
// returned. Each attempt gets its own now and starts from nothing, so a body
// that a store reruns after a lost race cannot leak state from the attempt
// that lost.
func write[T any](ctx context.Context, a *App, body func(tx Tx, now time.Time) (T, error)) (T, error) {
	return writeWith(ctx, a, a.store.Write, body)
}

// writeGrouped is write for the small, frequent writes of the activation
// path: on a store that commits concurrent writes together (GroupWriter),
// body may share its transaction with other requests'.
func writeGrouped[T any](ctx context.Context, a *App, body func(tx Tx, now time.Time) (T, error)) (T, error) {
	if g, ok := a.store.(GroupWriter); ok {
		return writeWith(ctx, a, g.WriteGrouped, body)
	}
	return write(ctx, a, body)
}

// writeWith runs body with the store's Write, or (a dry run) Read.
func writeWith[T any](ctx context.Context, a *App, run func(context.Context, func(Tx) error) error,
	body func(tx Tx, now time.Time) (T, error)) (T, error) {
	var out T
	start := time.Now()
	attempts := 0
	err := run(ctx, func(tx Tx) error {
		attempts++
		var zero T
		out = zero
		v, err := body(tx, a.now())
		if err != nil {
			return err
		}
		out = v
		return nil
	})
	if a.obs != nil {
		a.obs.StoreTx("write", time.Since(start), attempts, err)
	}
	if err == nil && ctx.Value(quietKey{}) == nil {
		a.wakeDispatcher()
	}
	return out, err
}

// read runs body in one read-only transaction.
func read[T any](ctx context.Context, a *App, body func(tx Tx, now time.Time) (T, error)) (T, error) {
	return readWith(ctx, a, a.store.Read, body)
}

// readWith runs body with the store's Read or ReadOne.
func readWith[T any](ctx context.Context, a *App, run func(context.Context, func(Tx) error) error,
	body func(tx Tx, now time.Time) (T, error)) (T, error) {
	var out T
	start := time.Now()
	attempts := 0
	err := run(ctx, func(tx Tx) error {
		attempts++
		v, err := body(tx, a.now())
		out = v
		return err
	})
	if a.obs != nil {
		a.obs.StoreTx("read", time.Since(start), attempts, err)
	}
	return out, err
}

// account is the acting account as the use cases see it.
type account struct {
	id    int64
	email string
}

// actingAccount returns the account in ctx, or EUNAUTHORIZED.
func actingAccount(ctx context.Context, tx Tx) (account, error) {
	email, err := licensing.RequireAccount(ctx)
	if err != nil {
		return account{}, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if acct, ok := principalAccount(ctx); ok {
		return acct, nil
	}
	id, err := tx.AccountID(ctx, email)
	if err != nil {
		return account{}, err
	}
	if id == 0 {
		if p, ok := licensing.PrincipalFrom(ctx); ok && p.Kind == licensing.KindOperator {
			// An operator acting for an account names it like any object.
			return account{}, licensing.Errorf(licensing.ENOTFOUND, "no account %s", email).WithHint("see `licensectl accounts list`")
		}
		return account{}, licensing.Errorf(licensing.EUNAUTHORIZED, "account %s does not exist", email).
			WithHint("create it with `licensectl accounts create %s`", email)
	}
	return account{id: id, email: email}, nil
}

// principalAccount is the acting account when Authenticate looked it up
// already (a request over the API) and the request still acts as it.
func principalAccount(ctx context.Context) (account, bool) {
	p, ok := licensing.PrincipalFrom(ctx)
	if !ok {
		return account{}, false
	}
	ref, ok := p.Ref.(accountRef)
	if !ok || ref.id == 0 || strings.ToLower(strings.TrimSpace(licensing.AccountFrom(ctx))) != p.Email {
		return account{}, false
	}
	return account{id: ref.id, email: p.Email}, true
}

// actor names who made a change: the acting account, or the operator of the
// store for commands that run without one.
func actor(ctx context.Context) string {
	if a := licensing.AccountFrom(ctx); a != "" {
		return strings.ToLower(strings.TrimSpace(a))
	}
	return "operator"
}

// audit records an event in the transaction of the change it describes.
func audit(ctx context.Context, tx Tx, acct int64, at time.Time, who, action, object string, details any) error {
	js, err := json.Marshal(details)
	if err != nil {
		return err
	}
	row := AuditRow{AccountID: acct, Time: at, Action: action, Object: object, Details: js}
	if p, ok := licensing.PrincipalFrom(ctx); ok && p.Kind == licensing.KindOperator {
		// An operator's token: the operator acted, on behalf of the account
		// it named (if any).
		who = p.Name()
		row.OnBehalfOf = strings.ToLower(strings.TrimSpace(licensing.OnBehalfOf(ctx)))
	}
	row.Actor = licensing.Actor(ctx, who) // "EMAIL via api token lct_..." over the API
	return tx.InsertAudit(ctx, row)
}

func licenseNotFound(key string) error {
	return licensing.Errorf(licensing.ENOTFOUND, "license %s not found", key)
}

// product returns the catalog entry of sku (any case), or ENOTFOUND.
func product(ctx context.Context, tx Tx, sku string) (*licensing.Product, error) {
	sku = strings.ToLower(strings.TrimSpace(sku))
	p, err := tx.Product(ctx, sku)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, licensing.Errorf(licensing.ENOTFOUND, "unknown product %s", sku).
			WithHint("see `licensectl products list`")
	}
	return p, nil
}

// company finds a company of the account by name (folded), or ENOTFOUND; it
// returns the id and the name as stored.
func company(ctx context.Context, tx Tx, acct int64, name string) (int64, string, error) {
	id, stored, err := tx.Company(ctx, acct, name)
	if err != nil {
		return 0, "", err
	}
	if id == 0 {
		return 0, "", licensing.Errorf(licensing.ENOTFOUND, "no company %q", name).
			WithHint("create it with `licensectl companies create %q`", name)
	}
	return id, stored, nil
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewPurchaseID returns "P-" and 12 random Crockford base32 characters (60
// bits).
func NewPurchaseID() string {
	var raw [12]byte
	rand.Read(raw[:]) // never fails: crypto/rand panics rather than return an error
	b := []byte("P-000000000000")
	for i, r := range raw {
		b[2+i] = crockford[r&31]
	}
	return string(b)
}
