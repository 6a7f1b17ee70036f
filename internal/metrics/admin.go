package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves the admin listener: GET /metrics (the Prometheus text
// format) and the runtime's profiles under /debug/pprof/. It is meant for a
// listener of its own, never the public API's.
//
// The profiles are served with runtime/pprof directly rather than by
// importing net/http/pprof, which registers itself on http.DefaultServeMux
// as a side effect. /debug/pprof/cmdline is left out on purpose: the command
// line can hold a PostgreSQL URL with its password.
func (m *Metrics) AdminHandler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// A failed store count leaves its gauge out; the rest is served.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // promhttp_metric_handler_errors_total
	})
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(m.reg, metrics))
	mux.HandleFunc("GET /debug/pprof/{$}", pprofIndex)
	mux.HandleFunc("GET /debug/pprof/profile", cpuProfile)
	mux.HandleFunc("GET /debug/pprof/trace", executionTrace)
	mux.HandleFunc("GET /debug/pprof/{name}", namedProfile)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "licensectl admin\n/metrics\n/debug/pprof/\n")
	})
	return mux
}

// pprofIndex lists the profiles.
func pprofIndex(w http.ResponseWriter, r *http.Request) {
	profiles := pprof.Profiles()
	sort.Slice(profiles, func(i, j int) bool { return profiles[i].Name() < profiles[j].Name() })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "profiles (add ?debug=1 for text; go tool pprof reads the default):")
	for _, p := range profiles {
		fmt.Fprintf(w, "  /debug/pprof/%-14s %d\n", p.Name(), p.Count())
	}
	fmt.Fprintln(w, "  /debug/pprof/profile        CPU profile, ?seconds=30 (at most 300)")
	fmt.Fprintln(w, "  /debug/pprof/trace          execution trace, ?seconds=1 (at most 60)")
}

// namedProfile writes one of runtime/pprof's profiles (heap, goroutine,
// allocs, block, mutex, threadcreate): ?debug=N for text, ?gc=1 to collect
// garbage before a heap profile.
func namedProfile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, "no such profile "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	debug, _ := strconv.Atoi(r.FormValue("debug"))
	if name == "heap" && r.FormValue("gc") != "" {
		runtime.GC()
	}
	if debug > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	if err := p.WriteTo(w, debug); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// seconds reads ?seconds=N, def when absent, refusing anything outside
// 1..limit.
func seconds(w http.ResponseWriter, r *http.Request, def, limit int) (time.Duration, bool) {
	n := def
	if s := r.FormValue("seconds"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > limit {
			http.Error(w, fmt.Sprintf("seconds=%s: want 1 to %d", s, limit), http.StatusBadRequest)
			return 0, false
		}
	}
	return time.Duration(n) * time.Second, true
}

// sleep waits d or until the client goes away.
func sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// cpuProfile profiles the CPU for ?seconds=N (30 by default).
func cpuProfile(w http.ResponseWriter, r *http.Request) {
	d, ok := seconds(w, r, 30, 300)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	if err := pprof.StartCPUProfile(w); err != nil {
		// Only one CPU profile runs at a time.
		w.Header().Del("Content-Disposition")
		http.Error(w, "cannot profile: "+err.Error(), http.StatusConflict)
		return
	}
	sleep(r, d)
	pprof.StopCPUProfile()
}

// executionTrace records an execution trace for ?seconds=N (1 by default).
func executionTrace(w http.ResponseWriter, r *http.Request) {
	d, ok := seconds(w, r, 1, 60)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	if err := trace.Start(w); err != nil {
		w.Header().Del("Content-Disposition")
		http.Error(w, "cannot trace: "+err.Error(), http.StatusConflict)
		return
	}
	sleep(r, d)
	trace.Stop()
}
