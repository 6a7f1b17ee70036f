// Package metrics is the license server's instrumentation: a Prometheus
// registry the server owns (never the process-wide default), the metrics its
// HTTP middleware, its use cases and its store record, and the admin handler
// that serves them with the runtime's profiles on a listener of its own.
//
// Labels are bounded by construction: routes are ServeMux patterns, never
// request paths (no license key, no id), methods outside the standard set are
// "OTHER", and codes are HTTP statuses.
package metrics

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Namespace prefixes every metric of licensectl's own.
const Namespace = "licensectl"

// BuildInfo is what licensectl_build_info says of the running binary.
type BuildInfo struct {
	Version string
	Commit  string
}

// Rate limits a 429 can come from (the limit label of
// licensectl_http_rate_limited_total).
const (
	LimitAddress      = "address"       // per client address, routes without a token
	LimitAuthFailures = "auth_failures" // failed authentications per client address
	LimitToken        = "token"         // per token
	LimitAccount      = "account"       // per account, all its tokens
	LimitOther        = "other"         // a use case's own (too many attach codes)
)

// Transaction kinds (the kind label of the store metrics).
const (
	TxRead  = "read"
	TxWrite = "write"
)

// Triggers of a renewals run (the trigger label of the renewals metrics).
const (
	TriggerSchedule = "schedule"  // serve's --renewals-every timer
	TriggerOnDemand = "on_demand" // POST /v1/renewal-runs, or the CLI
)

// Metrics are one server's metrics and the registry that holds them. A nil
// *Metrics records nothing: every method may be called on it.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	unavailable *prometheus.CounterVec
	txDuration  *prometheus.HistogramVec
	txRetries   *prometheus.CounterVec
	renewalRuns *prometheus.CounterVec
	renewals    *prometheus.CounterVec
	hooks       *prometheus.CounterVec
	hookTime    prometheus.Histogram
}

// requestBuckets and txBuckets are the latency buckets, in seconds:
// requests on SQLite answer in well under a millisecond, large purchases and
// streamed lists take seconds.
func requestBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
}

func txBuckets() []float64 {
	return []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// New makes the metrics of one server in a registry of their own, with the
// Go runtime's and the process's collectors and licensectl_build_info.
func New(build BuildInfo) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
			Name: "requests_total", Help: "HTTP requests answered, by method, route pattern and status code."},
			[]string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "http",
			Name: "request_duration_seconds", Help: "Time from a request's arrival to the end of its answer (a streamed list: its last line), by method, route pattern and status code.",
			Buckets: requestBuckets()}, []string{"method", "route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: "http",
			Name: "requests_in_flight", Help: "HTTP requests being answered now."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
			Name: "rate_limited_total", Help: "Requests refused with 429, by the limit that refused them (address, auth_failures, token, account, other)."},
			[]string{"limit"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
			Name: "unavailable_total", Help: "Requests answered 503 (store busy or unreachable, no stream slot, not ready), by method and route pattern."},
			[]string{"method", "route"}),
		txDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "store",
			Name: "transaction_duration_seconds", Help: "Time of a store transaction, retries included, by kind (read, write) and outcome (ok, error: the use case refused or failed, unavailable: the store was busy or down).",
			Buckets: txBuckets()}, []string{"kind", "outcome"}),
		txRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "store",
			Name: "transaction_retries_total", Help: "Times a transaction's body ran again after losing a race (PostgreSQL serialization failures, deadlocks, unique keys claimed concurrently), by kind."},
			[]string{"kind"}),
		renewalRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "renewals",
			Name: "runs_total", Help: "Runs of the renewals engine (dry runs excluded), by trigger (schedule, on_demand) and result (ok, error)."},
			[]string{"trigger", "result"}),
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "renewals",
			Name: "processed_total", Help: "Periods the renewals engine processed, by trigger, kind (maintenance, subscription, trial) and outcome (renewed, expired)."},
			[]string{"trigger", "kind", "outcome"}),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "webhooks",
			Name: "attempts_total", Help: "Webhook delivery attempts, by outcome (delivered: 2xx; retry: failed, to be retried; failed: given up after webhooks.retry_for)."},
			[]string{"outcome"}),
		hookTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "webhooks",
			Name: "attempt_duration_seconds", Help: "Time an endpoint took to answer a webhook delivery attempt (or to fail it).",
			Buckets: requestBuckets()}),
	}
	buildInfo := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels say which licensectl is running.",
		ConstLabels: prometheus.Labels{"version": build.Version, "commit": build.Commit, "go_version": runtime.Version()}},
		func() float64 { return 1 })
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.requests, m.duration, m.inFlight, m.rateLimited, m.unavailable,
		m.txDuration, m.txRetries, m.renewalRuns, m.renewals, m.hooks, m.hookTime)
	// Series an alert divides by or takes a rate of exist from the start, at 0.
	for _, l := range []string{LimitAddress, LimitAuthFailures, LimitToken, LimitAccount, LimitOther} {
		m.rateLimited.WithLabelValues(l)
	}
	for _, k := range []string{TxRead, TxWrite} {
		m.txRetries.WithLabelValues(k)
	}
	for _, o := range []string{"delivered", "retry", "failed"} {
		m.hooks.WithLabelValues(o)
	}
	for _, t := range []string{TriggerSchedule, TriggerOnDemand} {
		for _, r := range []string{"ok", "error"} {
			m.renewalRuns.WithLabelValues(t, r)
		}
	}
	return m
}

// Registry is where the metrics are registered, for the admin handler and
// for tests that gather them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Route is the request metrics of one route, its method and pattern bound
// once, and its series per status code found once: a request costs a scan
// of the few codes the route answers, without a lock or an allocation.
type Route struct {
	requests    *prometheus.CounterVec
	duration    prometheus.ObserverVec
	unavailable prometheus.Counter
	mu          sync.Mutex                   // serializes adding a code
	codes       atomic.Pointer[[]codeSeries] // copied on write
}

// codeSeries are a route's series of one status code.
type codeSeries struct {
	code     int
	requests prometheus.Counter
	duration prometheus.Observer
}

// series returns the route's series of code, making them the first time.
func (r *Route) series(code int) *codeSeries {
	if cs := r.codes.Load(); cs != nil {
		for i := range *cs {
			if (*cs)[i].code == code {
				return &(*cs)[i]
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var old []codeSeries
	if cs := r.codes.Load(); cs != nil {
		old = *cs
		for i := range old {
			if old[i].code == code {
				return &old[i]
			}
		}
	}
	c := strconv.Itoa(code)
	cs := append(slices.Clip(old), codeSeries{code: code, requests: r.requests.WithLabelValues(c), duration: r.duration.WithLabelValues(c)})
	r.codes.Store(&cs)
	return &cs[len(cs)-1]
}

// Route binds the request metrics of one route: method (one of the standard
// methods, else "OTHER") and route, the path of its ServeMux pattern
// ("/v1/licenses/{key}").
func (m *Metrics) Route(method, route string) *Route {
	if m == nil {
		return nil
	}
	method = Method(method)
	labels := prometheus.Labels{"method": method, "route": route}
	return &Route{requests: m.requests.MustCurryWith(labels), duration: m.duration.MustCurryWith(labels),
		unavailable: m.unavailable.With(labels)}
}

// Method is the label value of a request method: a standard one as it is,
// anything else "OTHER" (a client may send any token as a method).
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}

// Observe records one answered request.
func (r *Route) Observe(code int, took time.Duration) {
	if r == nil {
		return
	}
	cs := r.series(code)
	cs.requests.Inc()
	cs.duration.Observe(took.Seconds())
	if code == 503 {
		r.unavailable.Inc()
	}
}

// Begin counts a request in flight, until End.
func (m *Metrics) Begin() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// End counts a request Begin counted as answered.
func (m *Metrics) End() {
	if m != nil {
		m.inFlight.Dec()
	}
}

// RateLimited counts a 429 by the limit that answered it.
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// StoreTx records one store transaction (app.Observer): its kind (read,
// write), its time in all, how many times its body ran and its error.
func (m *Metrics) StoreTx(kind string, took time.Duration, attempts int, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	switch {
	case err == nil:
	case licensing.ErrorCode(err) == licensing.EUNAVAILABLE || errors.Is(err, context.DeadlineExceeded):
		outcome = "unavailable"
	default:
		outcome = "error"
	}
	m.txDuration.WithLabelValues(kind, outcome).Observe(took.Seconds())
	if attempts > 1 {
		m.txRetries.WithLabelValues(kind).Add(float64(attempts - 1))
	}
}

// RenewalsRun records one run of the renewals engine (app.Observer).
func (m *Metrics) RenewalsRun(trigger string, run *licensing.RenewalRun, err error) {
	if m == nil {
		return
	}
	if err != nil || run == nil {
		m.renewalRuns.WithLabelValues(trigger, "error").Inc()
		return
	}
	m.renewalRuns.WithLabelValues(trigger, "ok").Inc()
	for _, r := range run.Renewals {
		outcome := "expired"
		if r.Action == licensing.RenewalRenew {
			outcome = "renewed"
		}
		m.renewals.WithLabelValues(trigger, r.Kind, outcome).Inc()
	}
}

// WebhookAttempt records one webhook delivery attempt (app.Observer).
func (m *Metrics) WebhookAttempt(outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.hooks.WithLabelValues(outcome).Inc()
	m.hookTime.Observe(took.Seconds())
}

// activationsTimeout bounds the store count a scrape runs.
const activationsTimeout = 2 * time.Second

// CountActivations adds licensectl_activations_active, the store's current
// activations by mode (online, offline), counted by count at each scrape.
func (m *Metrics) CountActivations(count func(ctx context.Context) (map[string]int64, error)) error {
	return m.reg.Register(&activationsCollector{count: count,
		desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "activations", "active"),
			"Current activations in the store (every account), by mode; counted at each scrape.", []string{"mode"}, nil)})
}

type activationsCollector struct {
	desc  *prometheus.Desc
	count func(ctx context.Context) (map[string]int64, error)
}

func (c *activationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *activationsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), activationsTimeout)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		// The scrape still gets every other metric; the handler logs this.
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, mode := range []string{"online", "offline"} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[mode]), mode)
	}
}
