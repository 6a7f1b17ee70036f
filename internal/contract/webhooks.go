package contract

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Hooked is a backend with the dispatcher that delivers its webhooks.
type Hooked struct {
	Services licensing.Services
	// Dispatch runs the backend's dispatcher until nothing is due (the
	// server's, over HTTP). Its sender must allow private addresses: the
	// receiver is on a loopback port.
	Dispatch func(ctx context.Context, o app.DispatchOptions) (*licensing.DispatchRun, error)
	// Replica dispatches the same store from a second process's view: on
	// PostgreSQL its own connection pool.
	Replica func(ctx context.Context, o app.DispatchOptions) (*licensing.DispatchRun, error)
}

// WebhooksOpener opens a fresh backend like Opener.
type WebhooksOpener func(t *testing.T, clock licensing.Clock) Hooked

// RunWebhooks runs the webhooks suite: every delivery goes to a real HTTP
// receiver on a loopback port and is verified there as the Standard
// Webhooks specification describes.
func RunWebhooks(t *testing.T, open WebhooksOpener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *hookEnv)
	}{
		{"WebhookEndpoints", testWebhookEndpoints},
		{"WebhookDeliversMatchingEvents", testWebhookDelivers},
		{"WebhookRetriesWithTheSameID", testWebhookRetries},
		{"WebhookOrderPerObject", testWebhookOrder},
		{"WebhookGivesUpAndDisables", testWebhookGivesUp},
		{"WebhookTwoDispatchers", testWebhookTwoDispatchers},
		{"WebhookTest", testWebhookTestMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Start())
			h := open(t, clock)
			tc.fn(t, &hookEnv{env: env{t: t, svc: h.Services, clock: clock}, Hooked: h})
		})
	}
}

type hookEnv struct {
	env
	Hooked
}

// fast are dispatcher options for tests: retries due at once.
func fast() app.DispatchOptions {
	return app.DispatchOptions{Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
}

// received is one request the receiver got.
type received struct {
	ID, Type, Object string
	Event            int64
	Status           int // what the receiver answered
}

// receiver is an HTTP endpoint on a loopback port that checks every
// request's signature against secret and answers with answer (200 when
// nil).
type receiver struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	secret string
	got    []received
	answer func(n int, r received) int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hooks"
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("receiver: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	if !VerifyStandardWebhook(rc.secret, r.Header, body, time.Now()) {
		rc.t.Errorf("receiver: signature %q does not verify for id %q", r.Header.Get("webhook-signature"), r.Header.Get("webhook-id"))
		w.WriteHeader(401)
		return
	}
	var ev struct {
		ID     json.RawMessage `json:"id"` // a number; a string for webhook.test
		Type   string          `json:"type"`
		Object string          `json:"object"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.t.Errorf("receiver: body %s: %v", body, err)
	}
	got := received{ID: r.Header.Get("webhook-id"), Type: ev.Type, Object: ev.Object, Status: 200}
	got.Event, _ = strconv.ParseInt(string(ev.ID), 10, 64)
	if rc.answer != nil {
		got.Status = rc.answer(len(rc.got), got)
	}
	rc.got = append(rc.got, got)
	w.WriteHeader(got.Status)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// VerifyStandardWebhook checks a message as the Standard Webhooks
// specification says a receiver should, independently of the sender's
// code: the timestamp within 5 minutes, and one of the space-separated
// "v1,<base64>" signatures equal to HMAC-SHA256 under the base64 key after
// "whsec_" of "{webhook-id}.{webhook-timestamp}.{body}".
func VerifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return false
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute || h.Get("webhook-id") == "" {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		if v, b64, ok := strings.Cut(sig, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

// hook creates a webhook to rc and gives rc its secret.
func (e *hookEnv) hook(ctx context.Context, rc *receiver, events ...string) *licensing.Webhook {
	e.t.Helper()
	w, err := e.svc.CreateWebhook(ctx, licensing.WebhookCreate{URL: rc.url, Events: events})
	if err != nil {
		e.t.Fatalf("CreateWebhook: %v", err)
	}
	rc.mu.Lock()
	rc.secret = w.Secret
	rc.mu.Unlock()
	return w
}

func (e *hookEnv) dispatch(o app.DispatchOptions) *licensing.DispatchRun {
	e.t.Helper()
	run, err := e.Dispatch(context.Background(), o)
	if err != nil {
		e.t.Fatalf("dispatch: %v", err)
	}
	return run
}

func (e *hookEnv) deliveries(ctx context.Context, f licensing.DeliveryFilter) []licensing.WebhookDelivery {
	e.t.Helper()
	ds, err := e.svc.ListDeliveries(ctx, f)
	if err != nil {
		e.t.Fatalf("ListDeliveries: %v", err)
	}
	return ds
}

func testWebhookEndpoints(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	rc := newReceiver(t)
	w := e.hook(a, rc, "license.", "purchase.created", "license.revoked")
	if !strings.HasPrefix(w.Secret, "whsec_") || w.ID == 0 || w.Account != "a@example.com" || w.Disabled ||
		!slices.Equal(w.Events, []string{"license.", "purchase.created", "license.revoked"}) {
		t.Fatalf("created %+v", w)
	}
	list, err := e.svc.ListWebhooks(a)
	if err != nil || len(list) != 1 || list[0].ID != w.ID || list[0].Secret != "" || list[0].URL != rc.url {
		t.Fatalf("list = %+v, %v (the secret is shown once)", list, err)
	}
	if all, err := e.svc.CreateWebhook(a, licensing.WebhookCreate{URL: rc.url, Events: []string{"license.created", "*"}}); err != nil ||
		!slices.Equal(all.Events, []string{"*"}) || all.Secret == w.Secret {
		t.Fatalf("'*' webhook: %+v, %v", all, err)
	}
	for _, bad := range []licensing.WebhookCreate{
		{URL: "", Events: []string{"*"}},
		{URL: "ftp://example.com/x", Events: []string{"*"}},
		{URL: "https://user:pw@example.com/x", Events: []string{"*"}},
		{URL: "not a url", Events: []string{"*"}},
		{URL: rc.url, Events: []string{"license.exploded"}},
		{URL: rc.url, Events: []string{"nothing."}},
		{URL: rc.url},
	} {
		if _, err := e.svc.CreateWebhook(a, bad); licensing.ErrorCode(err) != licensing.EINVALID {
			t.Errorf("CreateWebhook(%+v) = %v, want invalid", bad, err)
		}
	}
	// Another account sees none of them and can touch none.
	if list, err := e.svc.ListWebhooks(b); err != nil || len(list) != 0 {
		t.Fatalf("b's list = %+v, %v", list, err)
	}
	if err := e.svc.DeleteWebhook(b, w.ID); licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("b deletes a's webhook: %v", err)
	}
	if _, err := e.svc.TestWebhook(b, w.ID); licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("b tests a's webhook: %v", err)
	}
	if _, err := e.svc.ListDeliveries(b, licensing.DeliveryFilter{Webhook: w.ID}); licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("b lists a's deliveries: %v", err)
	}
	if err := e.svc.DeleteWebhook(a, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteWebhook(a, w.ID); licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("deleted twice: %v", err)
	}
	if list, _ := e.svc.ListWebhooks(a); len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
}

// An event per change, exactly the types the endpoint asked for, each
// once, signed; nothing from before the endpoint existed or of another
// account.
func testWebhookDelivers(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	b := e.account("b@example.com")
	early := e.buy(a, req(line("backup-desktop", 1))) // before the webhook: not delivered
	rc := newReceiver(t)
	w := e.hook(a, rc, "license.", "purchase.created")
	p := e.buy(a, req(line("backup-desktop", 2)))
	if _, err := e.svc.UpdateLicense(a, p.Licenses[0], licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	act := e.activate(a, machine(p.Licenses[0], "m1", licensing.OSLinux, "7.5.0")) // activation.*: not asked for
	if _, err := e.svc.Deactivate(a, licensing.DeactivateRequest{ID: act.ID}); err != nil {
		t.Fatal(err)
	}
	e.refund(a, licensing.RefundRequest{PurchaseID: p.ID, Licenses: []string{p.Licenses[1]}})
	e.buy(b, req(line("backup-desktop", 1))) // another account's

	run := e.dispatch(fast())
	evs, err := e.svc.ListEvents(a, licensing.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var want []received
	for _, ev := range slices.Backward(evs) {
		if ev.ID > 0 && w.Matches(ev.Type) && !(ev.Object == early.ID || slices.Contains(early.Licenses, ev.Object)) {
			want = append(want, received{ID: strconv.FormatInt(ev.ID, 10), Event: ev.ID, Type: ev.Type, Object: ev.Object, Status: 200})
		}
	}
	got := rc.all() // in order per object only: different objects go out at once
	slices.SortFunc(got, func(x, y received) int { return int(x.Event - y.Event) })
	if !slices.Equal(got, want) {
		t.Fatalf("received %+v\nwant %+v", got, want)
	}
	var types []string
	for _, g := range got {
		if !slices.Contains(types, g.Type) {
			types = append(types, g.Type)
		}
	}
	for _, need := range []string{licensing.EventPurchaseCreated, licensing.EventLicenseUpdated, licensing.EventLicenseRevoked} {
		if !slices.Contains(types, need) {
			t.Errorf("no %s delivered (got %v)", need, types)
		}
	}
	if slices.Contains(types, licensing.EventActivationCreated) || slices.Contains(types, licensing.EventPurchaseRefunded) {
		t.Errorf("delivered types the endpoint did not ask for: %v", types)
	}
	if run.Delivered != len(want) || run.Queued != len(want) || run.Failed != 0 || run.Pending != 0 {
		t.Fatalf("run %+v, want %d delivered", run, len(want))
	}
	ds := e.deliveries(a, licensing.DeliveryFilter{Webhook: w.ID})
	if len(ds) != len(want) || ds[0].Status != licensing.DeliveryDelivered || ds[0].Attempts != 1 || ds[0].LastCode != 200 || ds[0].FinishedAt == nil {
		t.Fatalf("deliveries %+v", ds)
	}
	// Nothing is sent twice.
	if again := e.dispatch(fast()); again.Delivered != 0 || len(rc.all()) != len(want) {
		t.Fatalf("a second run sent again: %+v", again)
	}
}

// A receiver that fails 3 times and then succeeds gets the event with the
// same id each time; every attempt is recorded.
func testWebhookRetries(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	rc := newReceiver(t)
	rc.answer = func(n int, _ received) int {
		if n < 3 {
			return 503
		}
		return 204
	}
	w := e.hook(a, rc, licensing.EventPurchaseCreated)
	p := e.buy(a, req(line("backup-desktop", 1)))
	for i := 0; i < 50 && len(rc.all()) < 4; i++ {
		e.dispatch(fast())
		time.Sleep(2 * time.Millisecond)
	}
	got := rc.all()
	if len(got) != 4 {
		t.Fatalf("received %d requests, want 4 (3 failures, then success): %+v", len(got), got)
	}
	for _, g := range got {
		if g.ID != got[0].ID || g.Object != p.ID {
			t.Fatalf("the retries changed the message: %+v", got)
		}
	}
	ds := e.deliveries(a, licensing.DeliveryFilter{Webhook: w.ID})
	if len(ds) != 1 || ds[0].Status != licensing.DeliveryDelivered || ds[0].Attempts != 4 || ds[0].LastCode != 204 ||
		strconv.FormatInt(ds[0].Event, 10) != got[0].ID {
		t.Fatalf("deliveries %+v", ds)
	}
	if failed := e.deliveries(a, licensing.DeliveryFilter{Failed: true}); len(failed) != 0 {
		t.Fatalf("a delivered one listed as failed: %+v", failed)
	}
	// Redelivered on request: once more, the same id.
	if d, err := e.svc.Redeliver(a, ds[0].ID); err != nil || d.Status != licensing.DeliveryPending {
		t.Fatalf("Redeliver = %+v, %v", d, err)
	}
	e.dispatch(fast())
	if got := rc.all(); len(got) != 5 || got[4].ID != got[0].ID {
		t.Fatalf("after redeliver: %+v", got)
	}
	if _, err := e.svc.Redeliver(a, 99999); licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("Redeliver(unknown) = %v", err)
	}
}

// One object's events arrive in order even when the first one needs
// retries: the second waits for it.
func testWebhookOrder(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	p := e.buy(a, req(line("backup-desktop", 2)))
	rc := newReceiver(t)
	key := p.Licenses[0]
	rc.answer = func(n int, r received) int {
		if n < 2 && r.Object == key {
			return 500
		}
		return 200
	}
	e.hook(a, rc, licensing.EventLicenseUpdated)
	for _, rm := range []bool{true, false, true} {
		if _, err := e.svc.UpdateLicense(a, key, licensing.LicenseUpdate{AllowRM: ptr(rm)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.UpdateLicense(a, p.Licenses[1], licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50 && len(rc.all()) < 6; i++ {
		e.dispatch(fast())
		time.Sleep(2 * time.Millisecond)
	}
	var order, seen []int64
	for _, g := range rc.all() {
		if g.Object != key {
			continue
		}
		seen = append(seen, g.Event) // failures included: a retry repeats its event
		if g.Status == 200 {
			order = append(order, g.Event)
		}
	}
	if !slices.IsSorted(seen) {
		t.Fatalf("a later event of %s went out before an earlier one was delivered: %v", key, seen)
	}
	if len(order) != 3 || !slices.IsSorted(order) {
		t.Fatalf("%s's events delivered in order %v (all: %+v)", key, order, rc.all())
	}
	other := 0
	for _, g := range rc.all() {
		if g.Object == p.Licenses[1] {
			other++
		}
	}
	if other != 1 {
		t.Fatalf("the other license's event: %d deliveries, want 1", other)
	}
}

// A delivery that fails for the whole retry period fails; its endpoint is
// disabled until enabled again, and a redelivery then goes out.
func testWebhookGivesUp(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	rc := newReceiver(t)
	failing := true
	var mu sync.Mutex
	rc.answer = func(int, received) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return 500
		}
		return 200
	}
	w := e.hook(a, rc, licensing.EventPurchaseCreated)
	e.buy(a, req(line("backup-desktop", 1)))
	o := fast()
	o.RetryFor = time.Millisecond // every failure is past the period
	time.Sleep(5 * time.Millisecond)
	run := e.dispatch(o)
	if run.GaveUp != 1 || run.Delivered != 0 {
		t.Fatalf("run %+v, want one given up", run)
	}
	list, _ := e.svc.ListWebhooks(a)
	if len(list) != 1 || !list[0].Disabled || list[0].DisabledAt == nil || !strings.Contains(list[0].DisabledReason, "HTTP 500") {
		t.Fatalf("after giving up: %+v", list)
	}
	failed := e.deliveries(a, licensing.DeliveryFilter{Failed: true})
	if len(failed) != 1 || failed[0].Status != licensing.DeliveryFailed || failed[0].LastCode != 500 || failed[0].NextAttemptAt != nil {
		t.Fatalf("failed deliveries %+v", failed)
	}
	// Disabled: new events wait, nothing is sent.
	e.buy(a, req(line("backup-desktop", 1)))
	if run := e.dispatch(fast()); run.Delivered+run.Failed != 0 || len(rc.all()) != 1 {
		t.Fatalf("a disabled endpoint got messages: %+v", run)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	if en, err := e.svc.EnableWebhook(a, w.ID); err != nil || en.Disabled || en.DisabledReason != "" {
		t.Fatalf("EnableWebhook = %+v, %v", en, err)
	}
	if run := e.dispatch(fast()); run.Delivered != 1 {
		t.Fatalf("after enable: %+v (the waiting event goes out, the failed one stays failed)", run)
	}
	if _, err := e.svc.Redeliver(a, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	if run := e.dispatch(fast()); run.Delivered != 1 {
		t.Fatalf("after redeliver: %+v", run)
	}
	if f := e.deliveries(a, licensing.DeliveryFilter{Failed: true}); len(f) != 0 {
		t.Fatalf("still failed: %+v", f)
	}
	if _, err := e.svc.EnableWebhook(a, 99999); licensing.ErrorCode(err) != licensing.ENOTFOUND {
		t.Fatalf("EnableWebhook(unknown) = %v", err)
	}
}

// Two dispatchers of one store at once (two replicas) send each event
// once: claims never hand one delivery to both.
func testWebhookTwoDispatchers(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	rc := newReceiver(t)
	rc.answer = func(int, received) int { time.Sleep(time.Millisecond); return 200 }
	e.hook(a, rc, licensing.EventLicenseUpdated)
	p := e.buy(a, req(line("backup-desktop", 40)))
	for _, key := range p.Licenses {
		for _, rm := range []bool{true, false} {
			if _, err := e.svc.UpdateLicense(a, key, licensing.LicenseUpdate{AllowRM: ptr(rm)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := fast()
	o.Batch, o.Workers = 8, 4
	var wg sync.WaitGroup
	runs := make([]*licensing.DispatchRun, 2)
	errs := make([]error, 2)
	for i, d := range []func(context.Context, app.DispatchOptions) (*licensing.DispatchRun, error){e.Dispatch, e.Replica} {
		wg.Go(func() { runs[i], errs[i] = d(context.Background(), o) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("dispatchers: %v, %v", errs[0], errs[1])
	}
	seen := map[string]int{}
	last := map[string]int64{}
	for _, g := range rc.all() {
		seen[g.ID]++
		if g.Event < last[g.Object] {
			t.Errorf("%s: event %d after %d", g.Object, g.Event, last[g.Object])
		}
		last[g.Object] = g.Event
	}
	if len(seen) != 80 {
		t.Fatalf("%d distinct events delivered, want 80", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if runs[0].Delivered+runs[1].Delivered != 80 {
		t.Fatalf("runs %+v %+v", runs[0], runs[1])
	}
}

func testWebhookTestMessage(t *testing.T, e *hookEnv) {
	a := e.account("a@example.com")
	rc := newReceiver(t)
	w := e.hook(a, rc, "*")
	res, err := e.svc.TestWebhook(a, w.ID)
	if err != nil || !res.OK || res.Code != 200 || res.URL != rc.url || !strings.HasPrefix(res.MessageID, "test_") {
		t.Fatalf("TestWebhook = %+v, %v", res, err)
	}
	got := rc.all()
	if len(got) != 1 || got[0].Type != "webhook.test" || got[0].ID != res.MessageID {
		t.Fatalf("received %+v", got)
	}
	rc.answer = func(int, received) int { return 410 }
	if res, err := e.svc.TestWebhook(a, w.ID); err != nil || res.OK || res.Code != 410 {
		t.Fatalf("TestWebhook to a 410 = %+v, %v", res, err)
	}
	// No event is recorded, nothing is queued.
	if run := e.dispatch(fast()); run.Queued != 0 {
		t.Fatalf("a test queued deliveries: %+v", run)
	}
}
