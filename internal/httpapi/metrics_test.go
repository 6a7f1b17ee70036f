package httpapi

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/metrics"
	"github.com/licensectl/licensectl/internal/metrics/metricstest"
)

// observed is a server whose requests and use cases record into m, with m
// served by an admin server of its own, as serve --admin-addr does.
func observed(t *testing.T, opt Options) (*fixture, *metrics.Metrics, string) {
	t.Helper()
	m := metrics.New(metrics.BuildInfo{Version: "test", Commit: "c0ffee"})
	opt.Metrics = m
	fx := setupObserved(t, opt, m)
	if err := m.CountActivations(fx.store.ActiveActivations); err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(m.AdminHandler(logTo(&logBuffer{})))
	t.Cleanup(admin.Close)
	return fx, m, admin.URL + "/metrics"
}

// A scrape of a real server's admin listener, parsed with the Prometheus
// text parser, has every family; requests move the counters under their
// route pattern (never the path with its key) and status.
func TestMetricsMoveWithRequests(t *testing.T) {
	fx, _, scrape := observed(t, Options{})
	before := metricstest.Scrape(t, scrape)
	for _, name := range []string{"licensectl_build_info", "licensectl_http_requests_in_flight", "licensectl_http_rate_limited_total",
		"licensectl_store_transaction_retries_total", "licensectl_renewals_runs_total", "licensectl_activations_active",
		"go_goroutines", "process_resident_memory_bytes"} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	const route = "/v1/licenses/{key}"
	ok := []string{"method", "GET", "route", route, "code", "200"}
	for range 3 {
		if resp, body := fx.request(t, "GET", "/v1/licenses/"+fx.key, fx.tokenA, ""); resp.StatusCode != 200 {
			t.Fatalf("%s %s", resp.Status, body)
		}
	}
	fx.request(t, "GET", "/v1/licenses/AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", fx.tokenA, "") // a key of no license: 400 or 404
	fx.request(t, "GET", "/v1/no/such/"+fx.key, fx.tokenA, "")
	fx.request(t, "BREW", "/v1/licenses", fx.tokenA, "")
	if resp, body := fx.request(t, "POST", "/v1/activations", fx.tokenA,
		`{"license_key":"`+fx.key+`","machine":"build-1","fingerprint":"fp-1","os":"windows","version":"6.0"}`); resp.StatusCode != 201 {
		t.Fatalf("activate: %s %s", resp.Status, body)
	}
	if resp, body := fx.request(t, "POST", "/v1/renewal-runs", fx.tokenA, `{}`); resp.StatusCode != 200 {
		t.Fatalf("renewal run: %s %s", resp.Status, body)
	}
	after := metricstest.Scrape(t, scrape)

	for _, c := range []struct {
		name    string
		labels  []string
		moved   float64
		atLeast bool // other work (the scrape's own count) moves it too
	}{
		{"licensectl_http_requests_total", ok, 3, false},
		{"licensectl_http_request_duration_seconds", ok, 3, false},
		{"licensectl_http_requests_total", []string{"method", "GET", "route", route}, 4, false},
		{"licensectl_http_requests_total", []string{"method", "GET", "route", "unmatched", "code", "404"}, 1, false},
		{"licensectl_http_requests_total", []string{"method", "OTHER", "route", "unmatched", "code", "405"}, 1, false},
		{"licensectl_http_requests_total", []string{"method", "POST", "route", "/v1/activations", "code", "201"}, 1, false},
		{"licensectl_store_transaction_duration_seconds", []string{"kind", "read", "outcome", "ok"}, 3, true},
		{"licensectl_store_transaction_duration_seconds", []string{"kind", "write", "outcome", "ok"}, 2, true}, // the activation, the run
		{"licensectl_renewals_runs_total", []string{"trigger", "on_demand", "result", "ok"}, 1, false},
		{"licensectl_activations_active", []string{"mode", "online"}, 1, false},
	} {
		got := after.Value(c.name, c.labels...) - before.Value(c.name, c.labels...)
		if got != c.moved && !(c.atLeast && got > c.moved) {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.moved)
		}
	}
	// Route labels are the server's patterns (or "unmatched"); no label
	// anywhere holds a license key.
	patterns := []string{"unmatched"}
	for _, p := range (&Server{}).Routes() {
		_, path, _ := strings.Cut(p, " ")
		patterns = append(patterns, path)
	}
	for _, name := range []string{"licensectl_http_requests_total", "licensectl_http_request_duration_seconds"} {
		for _, v := range after.LabelValues(name, "route") {
			if !slices.Contains(patterns, v) {
				t.Errorf("%s has route %q, not a pattern", name, v)
			}
		}
	}
	for name := range after {
		for _, m := range after[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), fx.key) || strings.Contains(l.GetValue(), fx.tokenA[:12]) {
					t.Errorf("%s label %s=%q holds a key or token", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	if got := after.Value("licensectl_http_requests_in_flight"); got != 0 {
		t.Errorf("%v requests in flight once all were answered", got)
	}
}

// 429s are counted by the limit that refused them.
func TestMetricsCountRateLimits(t *testing.T) {
	fx, _, scrape := observed(t, Options{Rate: 0.01, Burst: 1})
	fx.request(t, "GET", "/healthz", "", "")
	fx.request(t, "GET", "/healthz", "", "")
	fx.request(t, "GET", "/v1/account", fx.tokenA, "")
	fx.request(t, "GET", "/v1/account", fx.tokenA, "")
	f := metricstest.Scrape(t, scrape)
	for limit, want := range map[string]float64{"address": 1, "token": 1, "account": 0, "auth_failures": 0} {
		if got := f.Value("licensectl_http_rate_limited_total", "limit", limit); got != want {
			t.Errorf("rate limited by %s: %v, want %v", limit, got, want)
		}
	}
	if got := f.Value("licensectl_http_requests_total", "route", "/healthz", "code", "429"); got != 1 {
		t.Errorf("429s of /healthz: %v", got)
	}
}

// The public listener serves no metrics and no profiles: they are on the
// admin listener only.
func TestMetricsNotOnThePublicListener(t *testing.T) {
	fx, _, _ := observed(t, Options{})
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		if resp, body := fx.request(t, "GET", path, "", ""); resp.StatusCode != 404 || strings.Contains(body, "licensectl_") {
			t.Errorf("public %s: %s %.100s", path, resp.Status, body)
		}
	}
}
