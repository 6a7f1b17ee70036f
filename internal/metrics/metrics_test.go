package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/metrics"
	"github.com/licensectl/licensectl/internal/metrics/metricstest"
)

func adminServer(t *testing.T, m *metrics.Metrics) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	srv := httptest.NewServer(m.AdminHandler(slog.New(slog.NewJSONHandler(&log, nil))))
	t.Cleanup(srv.Close)
	return srv, &log
}

// What is recorded is what a scrape reads, under the documented names and
// labels; the families an alert needs exist before anything happened.
func TestScrapeReadsWhatWasRecorded(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{Version: "1.2.3", Commit: "abc123"})
	srv, _ := adminServer(t, m)

	before := metricstest.Scrape(t, srv.URL+"/metrics")
	for _, name := range []string{"licensectl_build_info", "licensectl_http_requests_in_flight",
		"licensectl_http_rate_limited_total", "licensectl_store_transaction_retries_total",
		"licensectl_renewals_runs_total", "licensectl_webhooks_attempts_total", "go_goroutines", "process_cpu_seconds_total"} {
		if before[name] == nil {
			t.Errorf("no %s before any request", name)
		}
	}
	if got := before.Value("licensectl_build_info", "version", "1.2.3", "commit", "abc123", "go_version", runtime.Version()); got != 1 {
		t.Errorf("build_info = %v, want 1 with version, commit and go_version", got)
	}

	rt := m.Route("GET", "/v1/licenses/{key}")
	rt.Observe(200, 3*time.Millisecond)
	rt.Observe(200, 4*time.Millisecond)
	rt.Observe(503, time.Millisecond)
	m.Route("BREW", "unmatched").Observe(404, time.Millisecond)
	m.Begin()
	m.RateLimited(metrics.LimitToken)
	m.StoreTx(metrics.TxWrite, 2*time.Millisecond, 3, nil)
	m.StoreTx(metrics.TxRead, time.Millisecond, 1, licensing.Errorf(licensing.ENOTFOUND, "no"))
	m.StoreTx(metrics.TxWrite, time.Millisecond, 1, licensing.Errorf(licensing.EUNAVAILABLE, "busy"))
	m.RenewalsRun(metrics.TriggerSchedule, &licensing.RenewalRun{Renewals: []licensing.Renewal{
		{Kind: "maintenance", Action: licensing.RenewalRenew}, {Kind: "subscription", Action: licensing.RenewalRenew},
		{Kind: "trial", Action: licensing.RenewalExpire}}}, nil)
	m.RenewalsRun(metrics.TriggerOnDemand, nil, errors.New("store down"))
	m.WebhookAttempt("delivered", 3*time.Millisecond)
	m.WebhookAttempt("retry", 10*time.Second)
	m.WebhookAttempt("delivered", time.Millisecond)

	f := metricstest.Scrape(t, srv.URL+"/metrics")
	m.End()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"licensectl_http_requests_total", []string{"method", "GET", "route", "/v1/licenses/{key}", "code", "200"}, 2},
		{"licensectl_http_request_duration_seconds", []string{"method", "GET", "route", "/v1/licenses/{key}"}, 3},
		{"licensectl_http_requests_total", []string{"method", "OTHER", "route", "unmatched", "code", "404"}, 1},
		{"licensectl_http_unavailable_total", []string{"method", "GET", "route", "/v1/licenses/{key}"}, 1},
		{"licensectl_http_requests_in_flight", nil, 1},
		{"licensectl_http_rate_limited_total", []string{"limit", "token"}, 1},
		{"licensectl_http_rate_limited_total", []string{"limit", "address"}, 0},
		{"licensectl_store_transaction_duration_seconds", []string{"kind", "write", "outcome", "ok"}, 1},
		{"licensectl_store_transaction_duration_seconds", []string{"kind", "write", "outcome", "unavailable"}, 1},
		{"licensectl_store_transaction_duration_seconds", []string{"kind", "read", "outcome", "error"}, 1},
		{"licensectl_store_transaction_retries_total", []string{"kind", "write"}, 2},
		{"licensectl_store_transaction_retries_total", []string{"kind", "read"}, 0},
		{"licensectl_renewals_runs_total", []string{"trigger", "schedule", "result", "ok"}, 1},
		{"licensectl_renewals_runs_total", []string{"trigger", "on_demand", "result", "error"}, 1},
		{"licensectl_renewals_processed_total", []string{"trigger", "schedule", "outcome", "renewed"}, 2},
		{"licensectl_renewals_processed_total", []string{"kind", "trial", "outcome", "expired"}, 1},
		{"licensectl_webhooks_attempts_total", []string{"outcome", "delivered"}, 2},
		{"licensectl_webhooks_attempts_total", []string{"outcome", "retry"}, 1},
		{"licensectl_webhooks_attempts_total", []string{"outcome", "failed"}, 0},
		{"licensectl_webhooks_attempt_duration_seconds", nil, 3},
	} {
		if got := f.Value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := metricstest.Scrape(t, srv.URL+"/metrics").Value("licensectl_http_requests_in_flight"); got != 0 {
		t.Errorf("in flight after done = %v", got)
	}
	// A nil *Metrics records nothing and does not panic: a server without
	// an admin listener has none.
	var none *metrics.Metrics
	none.Route("GET", "/x").Observe(200, time.Second)
	none.Begin()
	none.End()
	none.RateLimited(metrics.LimitToken)
	none.StoreTx(metrics.TxRead, time.Second, 2, nil)
	none.WebhookAttempt("delivered", time.Second)
	none.RenewalsRun(metrics.TriggerSchedule, nil, nil)
}

// activeActivations is a test double of the store's count.
type activeActivations struct {
	counts map[string]int64
	err    error
}

func (a *activeActivations) count(ctx context.Context) (map[string]int64, error) {
	return a.counts, a.err
}

// The activations gauge is counted at each scrape; a store that cannot
// count leaves it out of that scrape, which still serves everything else
// and logs why.
func TestActiveActivationsCountedAtScrape(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{Version: "test"})
	store := &activeActivations{counts: map[string]int64{"online": 3}}
	if err := m.CountActivations(store.count); err != nil {
		t.Fatal(err)
	}
	srv, log := adminServer(t, m)
	f := metricstest.Scrape(t, srv.URL+"/metrics")
	if on, off := f.Value("licensectl_activations_active", "mode", "online"), f.Value("licensectl_activations_active", "mode", "offline"); on != 3 || off != 0 {
		t.Fatalf("activations online %v offline %v, want 3 and 0", on, off)
	}
	store.counts["offline"] = 2
	if got := metricstest.Scrape(t, srv.URL+"/metrics").Value("licensectl_activations_active", "mode", "offline"); got != 2 {
		t.Fatalf("offline %v after the store changed, want 2", got)
	}
	store.err = errors.New("the store is unreachable")
	f = metricstest.Scrape(t, srv.URL+"/metrics")
	if f["licensectl_activations_active"] != nil || f["licensectl_build_info"] == nil {
		t.Fatalf("with the count failing: activations %v, build_info %v", f["licensectl_activations_active"], f["licensectl_build_info"])
	}
	if !strings.Contains(log.String(), "the store is unreachable") {
		t.Fatalf("the failed count is not logged: %s", log)
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The admin handler serves the runtime's profiles, but not the command
// line (it can hold a database password).
func TestProfiles(t *testing.T) {
	srv, _ := adminServer(t, metrics.New(metrics.BuildInfo{}))
	if resp, body := get(t, srv.URL+"/debug/pprof/"); resp.StatusCode != 200 || !strings.Contains(body, "/debug/pprof/heap") || strings.Contains(body, "cmdline") {
		t.Fatalf("index: %s %s", resp.Status, body)
	}
	if resp, body := get(t, srv.URL+"/debug/pprof/goroutine?debug=1"); resp.StatusCode != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine: %s %.200s", resp.Status, body)
	}
	gzipped := func(body string) bool { return strings.HasPrefix(body, "\x1f\x8b") }
	if resp, body := get(t, srv.URL+"/debug/pprof/heap?gc=1"); resp.StatusCode != 200 || !gzipped(body) {
		t.Fatalf("heap: %s, %d bytes", resp.Status, len(body))
	}
	if resp, body := get(t, srv.URL+"/debug/pprof/profile?seconds=1"); resp.StatusCode != 200 || !gzipped(body) {
		t.Fatalf("profile: %s, %d bytes", resp.Status, len(body))
	}
	if resp, _ := get(t, srv.URL+"/debug/pprof/trace?seconds=1"); resp.StatusCode != 200 {
		t.Fatalf("trace: %s", resp.Status)
	}
	for path, want := range map[string]int{"/debug/pprof/cmdline": 404, "/debug/pprof/nope": 404,
		"/debug/pprof/profile?seconds=0": 400, "/debug/pprof/profile?seconds=301": 400, "/debug/pprof/trace?seconds=x": 400} {
		if resp, body := get(t, srv.URL+path); resp.StatusCode != want {
			t.Errorf("%s: %s %s, want %d", path, resp.Status, body, want)
		}
	}
}

// BenchmarkRequest is what the metrics record for one request: in flight,
// its route's counter and histogram, one store transaction.
func BenchmarkRequest(b *testing.B) {
	m := metrics.New(metrics.BuildInfo{Version: "bench"})
	rt := m.Route("GET", "/v1/licenses")
	b.ReportAllocs()
	for b.Loop() {
		m.Begin()
		m.StoreTx(metrics.TxRead, 100*time.Microsecond, 1, nil)
		rt.Observe(200, 250*time.Microsecond)
		m.End()
	}
}
