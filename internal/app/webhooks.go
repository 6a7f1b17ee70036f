package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/webhook"
)

// WebhookSender sends webhook messages (internal/webhook's Sender; a test
// double at this boundary must say it is one).
type WebhookSender interface {
	// CheckURL refuses an endpoint the sender would not deliver to.
	CheckURL(ctx context.Context, url string) error
	Send(ctx context.Context, m webhook.Message) webhook.Result
}

// WebhookRow is a webhook as the store keeps it.
type WebhookRow struct {
	ID, AccountID  int64
	Account        string // the account's email (read only)
	URL            string
	Events         string // comma-separated selectors
	Description    string
	Secret         string
	CreatedAt      time.Time
	Cursor         int64 // the last event id fanned out to deliveries
	DisabledAt     *time.Time
	DisabledReason string
}

func (r *WebhookRow) public() licensing.Webhook {
	return licensing.Webhook{ID: r.ID, Account: r.Account, URL: r.URL, Events: strings.Split(r.Events, ","),
		Description: r.Description, CreatedAt: r.CreatedAt, Disabled: r.DisabledAt != nil, DisabledAt: r.DisabledAt,
		DisabledReason: r.DisabledReason}
}

// EventRef is an event as fan-out needs it.
type EventRef struct {
	ID           int64
	Type, Object string
}

// DeliveryRow is a delivery to make.
type DeliveryRow struct {
	WebhookID, EventID int64
	Object             string
	NextAtMS           int64
	CreatedAt          time.Time
}

// ClaimedDelivery is a delivery the dispatcher holds for a lease, with all
// it needs to send it.
type ClaimedDelivery struct {
	ID, WebhookID int64
	URL, Secret   string
	Attempts      int
	CreatedAt     time.Time
	Event         licensing.Event
}

// AttemptRow is one attempt's outcome and the delivery's state after it.
type AttemptRow struct {
	DeliveryID int64
	N          int // the attempt's number, from 1
	AtMS       int64
	Code       int
	LatencyMS  int64
	Error      string
	Status     string // pending (retry at NextAtMS), delivered or failed
	NextAtMS   int64
	FinishedAt *time.Time
}

// WebhookTx keeps webhooks and their deliveries.
type WebhookTx interface {
	InsertWebhook(ctx context.Context, r WebhookRow) (int64, error)
	// Webhooks are acct's webhooks (id 0: all of them), oldest first.
	Webhooks(ctx context.Context, acct, id int64) ([]WebhookRow, error)
	DeleteWebhook(ctx context.Context, acct, id int64) (bool, error)
	SetWebhookDisabled(ctx context.Context, id int64, at *time.Time, reason string) error
	LastEventID(ctx context.Context) (int64, error)
	// FanOutWebhooks are enabled webhooks whose cursor is before last,
	// locked for the transaction (skipping those another replica holds).
	FanOutWebhooks(ctx context.Context, last int64, limit int) ([]WebhookRow, error)
	EventsAfter(ctx context.Context, acct, after int64, limit int) ([]EventRef, error)
	// InsertDeliveries skips deliveries that exist already.
	InsertDeliveries(ctx context.Context, rows []DeliveryRow) error
	SetWebhookCursor(ctx context.Context, id, cursor int64) error
	// ClaimDeliveries takes up to limit due deliveries of enabled webhooks
	// - each the earliest pending one of its webhook and object, so one
	// object's events arrive in order - and holds them until untilMS.
	ClaimDeliveries(ctx context.Context, nowMS, untilMS int64, limit int) ([]ClaimedDelivery, error)
	FinishAttempts(ctx context.Context, rows []AttemptRow) error
	ListDeliveries(ctx context.Context, acct int64, f licensing.DeliveryFilter) ([]licensing.WebhookDelivery, error)
	// RequeueDelivery makes acct's delivery pending and due at nowMS.
	RequeueDelivery(ctx context.Context, acct, id, nowMS int64) (bool, error)
	CountPendingDeliveries(ctx context.Context) (int, error)
	// AnalyzeDeliveries refreshes the planner's statistics of deliveries
	// after a burst, where the store's planner needs it.
	AnalyzeDeliveries(ctx context.Context) error
	// DispatchWork is a read: is there anything for the dispatcher to do?
	DispatchWork(ctx context.Context, nowMS int64) (DispatchWork, error)
}

// maxWebhooks bounds an account's endpoints.
const maxWebhooks = 20

// CreateWebhook implements licensing.WebhookService: the secret is in the
// answer, and never again. Only events after it are delivered.
func (a *App) CreateWebhook(ctx context.Context, req licensing.WebhookCreate) (*licensing.Webhook, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	if err := a.hooks.CheckURL(ctx, req.URL); err != nil {
		return nil, err
	}
	secret := webhook.NewSecret()
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Webhook, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		have, err := tx.Webhooks(ctx, acct.id, 0)
		if err != nil {
			return nil, err
		}
		if len(have) >= maxWebhooks {
			return nil, licensing.Errorf(licensing.ECONFLICT, "%s has %d webhooks already, the most an account may have", acct.email, maxWebhooks).
				WithHint("delete one with `licensectl webhooks delete ID`; one endpoint can take every event ('*')")
		}
		last, err := tx.LastEventID(ctx)
		if err != nil {
			return nil, err
		}
		row := WebhookRow{AccountID: acct.id, Account: acct.email, URL: req.URL, Events: strings.Join(req.Events, ","),
			Description: req.Description, Secret: secret, CreatedAt: now, Cursor: last}
		if row.ID, err = tx.InsertWebhook(ctx, row); err != nil {
			return nil, err
		}
		out := row.public()
		if err := audit(ctx, tx, acct.id, now, actor(ctx), "webhook.create", strconv.FormatInt(row.ID, 10),
			map[string]any{"url": row.URL, "events": out.Events}); err != nil {
			return nil, err
		}
		out.Secret = secret
		return &out, nil
	})
}

// ListWebhooks implements licensing.WebhookService.
func (a *App) ListWebhooks(ctx context.Context) ([]licensing.Webhook, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Webhook, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		rows, err := tx.Webhooks(ctx, acct.id, 0)
		if err != nil {
			return nil, err
		}
		out := make([]licensing.Webhook, len(rows))
		for i := range rows {
			out[i] = rows[i].public()
		}
		return out, nil
	})
}

// ownWebhook is the acting account and its webhook id.
func ownWebhook(ctx context.Context, tx Tx, id int64) (account, *WebhookRow, error) {
	acct, err := actingAccount(ctx, tx)
	if err != nil {
		return acct, nil, err
	}
	rows, err := tx.Webhooks(ctx, acct.id, id)
	if err != nil {
		return acct, nil, err
	}
	if len(rows) == 0 {
		return acct, nil, noWebhook(id)
	}
	return acct, &rows[0], nil
}

func noWebhook(id int64) error {
	return licensing.Errorf(licensing.ENOTFOUND, "no webhook %d", id).WithHint("see `licensectl webhooks list`")
}

// DeleteWebhook implements licensing.WebhookService: the endpoint and its
// deliveries go.
func (a *App) DeleteWebhook(ctx context.Context, id int64) error {
	_, err := write(ctx, a, func(tx Tx, now time.Time) (struct{}, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return struct{}{}, err
		}
		if ok, err := tx.DeleteWebhook(ctx, acct.id, id); err != nil {
			return struct{}{}, err
		} else if !ok {
			return struct{}{}, noWebhook(id)
		}
		return struct{}{}, audit(ctx, tx, acct.id, now, actor(ctx), "webhook.delete", strconv.FormatInt(id, 10), map[string]any{})
	})
	return err
}

// EnableWebhook implements licensing.WebhookService.
func (a *App) EnableWebhook(ctx context.Context, id int64) (*licensing.Webhook, error) {
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Webhook, error) {
		acct, h, err := ownWebhook(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		rows := []WebhookRow{*h}
		if rows[0].DisabledAt != nil {
			if err := tx.SetWebhookDisabled(ctx, id, nil, ""); err != nil {
				return nil, err
			}
			rows[0].DisabledAt, rows[0].DisabledReason = nil, ""
			if err := audit(ctx, tx, acct.id, now, actor(ctx), "webhook.enable", strconv.FormatInt(id, 10), map[string]any{}); err != nil {
				return nil, err
			}
		}
		out := rows[0].public()
		return &out, nil
	})
}

// ListDeliveries implements licensing.WebhookService.
func (a *App) ListDeliveries(ctx context.Context, f licensing.DeliveryFilter) ([]licensing.WebhookDelivery, error) {
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.WebhookDelivery, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if f.Webhook != 0 {
			if rows, err := tx.Webhooks(ctx, acct.id, f.Webhook); err != nil {
				return nil, err
			} else if len(rows) == 0 {
				return nil, noWebhook(f.Webhook)
			}
		}
		return tx.ListDeliveries(ctx, acct.id, f)
	})
}

// Redeliver implements licensing.WebhookService.
func (a *App) Redeliver(ctx context.Context, id int64) (*licensing.WebhookDelivery, error) {
	d, err := write(ctx, a, func(tx Tx, now time.Time) (*licensing.WebhookDelivery, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		ok, err := tx.RequeueDelivery(ctx, acct.id, id, time.Now().UnixMilli())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, licensing.Errorf(licensing.ENOTFOUND, "no delivery %d", id).WithHint("see `licensectl webhooks deliveries`")
		}
		if err := audit(ctx, tx, acct.id, now, actor(ctx), "webhook.redeliver", strconv.FormatInt(id, 10), map[string]any{}); err != nil {
			return nil, err
		}
		return deliveryByID(ctx, tx, acct.id, id)
	})
	if err == nil {
		a.wakeDispatcher()
	}
	return d, err
}

// deliveryByID reads one of acct's deliveries.
func deliveryByID(ctx context.Context, tx Tx, acct, id int64) (*licensing.WebhookDelivery, error) {
	all, err := tx.ListDeliveries(ctx, acct, licensing.DeliveryFilter{ID: id, Limit: 1})
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return &all[0], nil
}

// TestWebhook implements licensing.WebhookService.
func (a *App) TestWebhook(ctx context.Context, id int64) (*licensing.WebhookTest, error) {
	row, err := read(ctx, a, func(tx Tx, _ time.Time) (*WebhookRow, error) {
		_, h, err := ownWebhook(ctx, tx, id)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	msgID := "test_" + strconv.FormatInt(now.UnixNano(), 36)
	body, err := json.Marshal(map[string]any{"id": msgID, "type": "webhook.test", "account": row.Account, "object": strconv.FormatInt(id, 10),
		"created_at": now.Truncate(time.Second), "data": map[string]any{"webhook": id, "url": row.URL}})
	if err != nil {
		return nil, err
	}
	res := a.hooks.Send(ctx, webhook.Message{URL: row.URL, Secret: row.Secret, ID: msgID, Timestamp: now, Body: body})
	return &licensing.WebhookTest{Webhook: id, URL: row.URL, MessageID: msgID, OK: res.OK(), Code: res.Code,
		LatencyMS: res.Latency.Milliseconds(), Error: res.Err}, nil
}

// DispatchOptions tune the dispatcher.
type DispatchOptions struct {
	// Batch is how many deliveries a round claims (0: 64); Workers how
	// many it sends at once (0: 16).
	Batch, Workers int
	// RetryFor is how long a delivery is retried (0: 3 days); then it
	// fails, the endpoint is disabled and the account mailed.
	RetryFor time.Duration
	// Backoff is the first retry's delay (0: 5 s); each next one doubles,
	// up to MaxBackoff (0: 6 h), and is jittered (half to all of it).
	Backoff, MaxBackoff time.Duration
	// Lease is how long a claim holds a delivery (0: 2 × the sender's
	// timeout + 5 s): a dispatcher that dies mid-delivery (kill -9) leaves
	// it to be claimed again after this.
	Lease time.Duration
}

// Dispatcher defaults.
const (
	DefaultWebhookRetryFor = 72 * time.Hour
	defaultBackoff         = 5 * time.Second
	defaultMaxBackoff      = 6 * time.Hour
)

func (o *DispatchOptions) defaults() {
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.RetryFor <= 0 {
		o.RetryFor = DefaultWebhookRetryFor
	}
	if o.Backoff <= 0 {
		o.Backoff = defaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.Lease <= 0 {
		o.Lease = 2*webhook.DefaultTimeout + 5*time.Second
	}
}

// backoff is the delay before attempt n+1 after n failed attempts.
func (o *DispatchOptions) backoff(n int) time.Duration {
	d := o.Backoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.MaxBackoff)
	return d/2 + rand.N(d/2+1) // equal jitter: half fixed, half random
}

// wakeDispatcher tells this process's dispatcher there may be work.
func (a *App) wakeDispatcher() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// DispatchWebhooks runs the dispatcher until nothing is due: new events
// become deliveries, due deliveries are sent (Workers at once) and their
// attempts recorded. Retries not yet due are left for a later run
// (Pending says how many).
func (a *App) DispatchWebhooks(ctx context.Context, o DispatchOptions) (*licensing.DispatchRun, error) {
	o.defaults()
	run := &licensing.DispatchRun{}
	d := &dispatcher{a: a, o: o}
	ctx = context.WithValue(ctx, quietKey{}, true)
	if err := d.pump(ctx, run, nil); err != nil {
		return run, err
	}
	n, err := read(ctx, a, func(tx Tx, _ time.Time) (int, error) { return tx.CountPendingDeliveries(ctx) })
	run.Pending = n
	return run, err
}

// RunDispatcher delivers webhooks until ctx ends: when it runs out of work
// it waits for a write to commit in this process, or for poll (other
// replicas' events, retries coming due).
func (a *App) RunDispatcher(ctx context.Context, o DispatchOptions, poll time.Duration, log interface {
	Error(msg string, args ...any)
}) {
	o.defaults()
	d := &dispatcher{a: a, o: o}
	ctx = context.WithValue(ctx, quietKey{}, true)
	t := time.NewTicker(poll)
	defer t.Stop()
	idle := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-a.wake:
		case <-t.C:
		}
		return true
	}
	for ctx.Err() == nil {
		if err := d.pump(ctx, &licensing.DispatchRun{}, idle); err != nil && ctx.Err() == nil {
			log.Error("webhook dispatch failed", "error", err.Error())
			select { // a failing store: try again at the next poll
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
}

// quietKey marks the dispatcher's own writes: they do not wake it.
type quietKey struct{}

// DispatchWork is what the dispatcher has to do: whether some enabled
// webhook has events to fan out, and whether some delivery is due.
type DispatchWork struct {
	FanOut, Due bool
}

type dispatcher struct {
	a *App
	o DispatchOptions
	// fanned counts deliveries made since the store's statistics were
	// last refreshed (analyzeAfter).
	fanned int
}

// attempt is a sent delivery and how it went.
type attempt struct {
	c   *ClaimedDelivery
	res webhook.Result
	at  time.Time
}

// recordEvery is how many finished attempts are recorded in one write, and
// flushEvery how long a finished attempt may wait for others to join it.
const (
	busyWait    = 20 * time.Millisecond // before the next step when the store was busy
	recordEvery = 32
	flushEvery  = 5 * time.Millisecond
)

// pump is the dispatcher's pipeline: it claims due deliveries while fewer
// than Batch are in flight (and the last claim is handed out: a claim per
// handed-out delivery would spend the store on claims), hands them to
// Workers senders, and records attempts as they finish - so one slow
// endpoint holds up only its own deliveries. With nothing in flight and nothing due it returns, or, with
// idle, waits for it (false: stop).
func (d *dispatcher) pump(ctx context.Context, run *licensing.DispatchRun, idle func() bool) error {
	jobs := make(chan *ClaimedDelivery)
	results := make(chan attempt, d.o.Batch) // never more in flight than Batch: senders never block
	sendCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range d.o.Workers {
		wg.Go(func() {
			for c := range jobs {
				results <- d.send(sendCtx, c)
			}
		})
	}
	defer func() {
		// Stopping: attempts cut short are not recorded; their leases lapse
		// and the next dispatcher sends them again.
		stop()
		close(jobs)
		wg.Wait()
	}()
	flush := time.NewTimer(flushEvery)
	flush.Stop()
	flushing := false            // flush is set: done has attempts
	var queue []*ClaimedDelivery // claimed, not yet handed to a sender
	var done []attempt           // finished, not yet recorded
	inflight := 0                // claimed, not yet recorded
	recheck := true              // there may be work in the store
	for {
		// One step, one write: record what finished, fan out new events and
		// claim what is due, as far as there is room.
		claim := recheck && len(queue) == 0 && inflight-len(done) <= d.o.Batch/2
		rec := len(done) > 0 && (len(done) >= recordEvery || len(done) == inflight || !flushing)
		if claim || rec {
			var finished []attempt
			if rec {
				finished, done = done, nil
				if flushing {
					flush.Stop()
					flushing = false
				}
			}
			n := d.o.Batch - (inflight - len(finished))
			claimed, more, err := d.step(ctx, run, finished, n)
			if err != nil {
				if licensing.ErrorCode(err) != licensing.EUNAVAILABLE || ctx.Err() != nil {
					return err
				}
				// The store is busy (a serialization failure its retries did
				// not get past): keep what finished and try again shortly,
				// rather than leave sent attempts to be sent again.
				done = append(finished, done...)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(busyWait):
				}
				recheck = true
				continue
			}
			inflight += len(claimed) - len(finished)
			queue = append(queue, claimed...)
			recheck = more || n > 0 && len(claimed) == n // maybe more: events left to fan out, or a full claim
		}
		if inflight == 0 && !recheck {
			if idle == nil || !idle() {
				return ctx.Err()
			}
			recheck = true
			continue
		}
		if inflight == 0 {
			continue
		}
		var next chan *ClaimedDelivery
		var head *ClaimedDelivery
		if len(queue) > 0 {
			next, head = jobs, queue[0]
		}
		var flushed <-chan time.Time
		if flushing {
			flushed = flush.C
		}
		select {
		case next <- head:
			queue = queue[1:]
		case a := <-results:
			done = append(done, a)
			if !flushing {
				flush.Reset(flushEvery)
				flushing = true
			}
		case <-flushed:
			flushing = false
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send makes one attempt of c.
func (d *dispatcher) send(ctx context.Context, c *ClaimedDelivery) attempt {
	at := time.Now()
	body, err := json.Marshal(c.Event)
	if err != nil {
		return attempt{c: c, at: at, res: webhook.Result{Err: "cannot encode the event"}}
	}
	return attempt{c: c, at: at, res: d.a.hooks.Send(ctx, webhook.Message{URL: c.URL, Secret: c.Secret,
		ID: strconv.FormatInt(c.Event.ID, 10), Timestamp: at, Body: body})}
}

// fanOutPage bounds the events one webhook's fan-out takes per round.
const fanOutPage = 1000

// fanOutTx turns events after each enabled webhook's cursor into its
// deliveries: it says how many it made, and whether there may be more
// (a full page).
func fanOutTx(ctx context.Context, tx Tx) (int, bool, error) {
	last, err := tx.LastEventID(ctx)
	if err != nil {
		return 0, false, err
	}
	hooks, err := tx.FanOutWebhooks(ctx, last, 100)
	if err != nil {
		return 0, false, err
	}
	more := len(hooks) == 100
	nowMS := time.Now().UnixMilli()
	created := time.UnixMilli(nowMS).UTC().Truncate(time.Second)
	var rows []DeliveryRow
	for _, h := range hooks {
		evs, err := tx.EventsAfter(ctx, h.AccountID, h.Cursor, fanOutPage)
		if err != nil {
			return 0, false, err
		}
		cursor := last
		if len(evs) == fanOutPage {
			cursor, more = evs[len(evs)-1].ID, true
		}
		list := strings.Split(h.Events, ",")
		for _, e := range evs {
			if licensing.MatchEventTypes(list, e.Type) {
				rows = append(rows, DeliveryRow{WebhookID: h.ID, EventID: e.ID, Object: e.Object, NextAtMS: nowMS, CreatedAt: created})
			}
		}
		if err := tx.SetWebhookCursor(ctx, h.ID, cursor); err != nil {
			return 0, false, err
		}
	}
	return len(rows), more, tx.InsertDeliveries(ctx, rows)
}

// analyzeAfter is the burst of deliveries after which the store's
// statistics are refreshed: a 100,000-license purchase with a '*' webhook
// otherwise leaves PostgreSQL planning claims as full scans (650 ms each)
// until autovacuum analyzes the table.
const analyzeAfter = 5000

// step is the dispatcher's one write: it records finished attempts
// (delivered; to be retried after a jittered backoff; or, past the retry
// period, failed, which disables the endpoint and mails its account), fans
// out new events and claims up to n due deliveries. With nothing to record
// it looks first, in a read, whether there is anything to do. more says
// there may be events left to fan out.
func (d *dispatcher) step(ctx context.Context, run *licensing.DispatchRun, done []attempt, n int) ([]*ClaimedDelivery, bool, error) {
	if len(done) == 0 {
		w, err := read(ctx, d.a, func(tx Tx, _ time.Time) (DispatchWork, error) { return tx.DispatchWork(ctx, time.Now().UnixMilli()) })
		if err != nil || !w.FanOut && !w.Due {
			return nil, false, err
		}
	}
	now := time.Now()
	rows := make([]AttemptRow, len(done))
	var gaveUp []*ClaimedDelivery
	var counts licensing.DispatchRun // added to run once the write commits
	for i, a := range done {
		c, res := a.c, a.res
		row := AttemptRow{DeliveryID: c.ID, N: c.Attempts + 1, AtMS: a.at.UnixMilli(), Code: res.Code,
			LatencyMS: res.Latency.Milliseconds(), Error: res.Err, Status: licensing.DeliveryPending}
		switch deadline := c.CreatedAt.Add(d.o.RetryFor); {
		case res.OK():
			row.Status, row.FinishedAt = licensing.DeliveryDelivered, ptr(now.UTC().Truncate(time.Second))
			counts.Delivered++
		case !now.Before(deadline):
			row.Status, row.FinishedAt = licensing.DeliveryFailed, ptr(now.UTC().Truncate(time.Second))
			counts.Failed++
			counts.GaveUp++
			gaveUp = append(gaveUp, c)
		default:
			row.NextAtMS = min(now.Add(d.o.backoff(row.N)).UnixMilli(), deadline.UnixMilli())
			counts.Failed++
		}
		rows[i] = row
	}
	type result struct {
		disabled []WebhookRow
		claimed  []ClaimedDelivery
		queued   int
		more     bool
		analyzed bool
	}
	r, err := write(ctx, d.a, func(tx Tx, _ time.Time) (result, error) {
		var r result
		if err := tx.FinishAttempts(ctx, rows); err != nil {
			return r, err
		}
		seen := map[int64]bool{}
		for _, c := range gaveUp {
			if seen[c.WebhookID] {
				continue
			}
			seen[c.WebhookID] = true
			hooks, err := tx.Webhooks(ctx, 0, c.WebhookID)
			if err != nil {
				return r, err
			}
			if len(hooks) == 0 || hooks[0].DisabledAt != nil {
				continue
			}
			at := now.UTC().Truncate(time.Second)
			reason := fmt.Sprintf("deliveries failed for %s (last: %s)", days(d.o.RetryFor), attemptSummary(rows, c.ID))
			if err := tx.SetWebhookDisabled(ctx, c.WebhookID, &at, reason); err != nil {
				return r, err
			}
			hooks[0].DisabledAt, hooks[0].DisabledReason = &at, reason
			r.disabled = append(r.disabled, hooks[0])
		}
		var err error
		if r.queued, r.more, err = fanOutTx(ctx, tx); err != nil {
			return r, err
		}
		if r.analyzed = d.fanned+r.queued >= analyzeAfter; r.analyzed {
			if err := tx.AnalyzeDeliveries(ctx); err != nil {
				return r, err
			}
		}
		if n > 0 {
			at := time.Now()
			r.claimed, err = tx.ClaimDeliveries(ctx, at.UnixMilli(), at.Add(d.o.Lease).UnixMilli(), n)
		}
		return r, err
	})
	if err != nil {
		return nil, false, err
	}
	run.Queued += r.queued
	run.Delivered += counts.Delivered
	run.Failed += counts.Failed
	run.GaveUp += counts.GaveUp
	if d.a.obs != nil {
		for i, a := range done {
			outcome := "retry"
			switch rows[i].Status {
			case licensing.DeliveryDelivered:
				outcome = "delivered"
			case licensing.DeliveryFailed:
				outcome = "failed"
			}
			d.a.obs.WebhookAttempt(outcome, a.res.Latency)
		}
	}
	if d.fanned += r.queued; r.analyzed {
		d.fanned = 0
	}
	for _, h := range r.disabled {
		d.a.mailDisabledWebhook(ctx, h)
	}
	out := make([]*ClaimedDelivery, len(r.claimed))
	for i := range r.claimed {
		out[i] = &r.claimed[i]
	}
	return out, r.more, nil
}

func attemptSummary(rows []AttemptRow, id int64) string {
	for _, r := range rows {
		if r.DeliveryID == id {
			if r.Code != 0 {
				return "HTTP " + strconv.Itoa(r.Code)
			}
			return r.Error
		}
	}
	return "?"
}

// mailDisabledWebhook tells the account its endpoint was turned off.
func (a *App) mailDisabledWebhook(ctx context.Context, h WebhookRow) {
	if a.mailer == nil || h.Account == "" {
		return
	}
	_ = a.mailer.Send(ctx, licensing.Mail{To: h.Account, Subject: fmt.Sprintf("Webhook %d disabled: %s", h.ID, h.URL),
		Body: fmt.Sprintf("Your webhook endpoint %s (id %d) was disabled: %s.\n\n"+
			"Events are kept. When the endpoint answers again:\n\n"+
			"  licensectl webhooks enable %d                 # deliveries waiting for it resume\n"+
			"  licensectl webhooks deliveries %d --failed    # what was given up\n"+
			"  licensectl webhooks redeliver DELIVERY_ID    # send one again\n", h.URL, h.ID, h.DisabledReason, h.ID, h.ID)})
}

func ptr[T any](v T) *T { return &v }

// days says a duration in days when it is whole days ("3 days").
func days(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n != 1 {
			return strconv.Itoa(int(n)) + " days"
		}
		return "1 day"
	}
	return d.String()
}
