// Command webhooks is the benchmark of the webhook dispatcher (issue 21):
// events through the dispatcher to a receiver on a loopback port, on a
// fresh SQLite store (or PostgreSQL with -store postgres -db URL).
//
//	go run ./bench/webhooks                      # 100,000 events drained, then 20 s live at 500 events/s
//	go run ./bench/webhooks -events 10000 -live 5s
//
// Two phases:
//
//   - drain: -events events are written to the outbox first (the store's
//     own InsertEvents, 1,000 a transaction), then one dispatcher run
//     delivers them all: deliveries per second, from the run's start to
//     the last receipt.
//   - live: the dispatcher runs as in serve while -rate license changes a
//     second (licenses set, the real use case, from 8 goroutines) commit
//     events for -live: the time from each change's commit (its call
//     returning) to its receipt, p50/p90/p99/max.
//
// The receiver answers 204 and runs in this process (net/http on
// 127.0.0.1), sharing its 2 cores with the dispatcher and the store.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/postgres"
	"github.com/licensectl/licensectl/internal/sqlite"
	"github.com/licensectl/licensectl/internal/webhook"
)

func main() {
	events := flag.Int("events", 100000, "events in the drain phase")
	live := flag.Duration("live", 20*time.Second, "length of the live phase (0: none)")
	rate := flag.Int("rate", 500, "license changes a second in the live phase")
	store := flag.String("store", "sqlite", "sqlite or postgres")
	db := flag.String("db", "", "the PostgreSQL URL (a fresh schema is best)")
	workers := flag.Int("workers", 16, "concurrent sends")
	batch := flag.Int("batch", 64, "deliveries in flight")
	cpu := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	poll := flag.Duration("poll", time.Second, "the live dispatcher's poll (webhooks.poll)")
	flag.Parse()
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, "webhooks:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*events, *live, *rate, *store, *db, *workers, *batch, *poll); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "webhooks:", err)
		os.Exit(1)
	}
}

// receiver counts what arrives and when.
type receiver struct {
	mu       sync.Mutex
	got      atomic.Int64
	last     atomic.Int64 // unix ns of the last receipt
	receipts map[string]time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	var ev struct{ Type, Object string }
	_ = json.Unmarshal(body, &ev)
	rc.mu.Lock()
	if rc.receipts != nil {
		if _, ok := rc.receipts[ev.Object]; !ok {
			rc.receipts[ev.Object] = now
		}
	}
	rc.mu.Unlock()
	rc.got.Add(1)
	rc.last.Store(now.UnixNano())
	w.WriteHeader(http.StatusNoContent)
}

func run(events int, live time.Duration, rate int, kind, dbURL string, workers, batch int, poll time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bench-webhooks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var b app.Backend
	switch kind {
	case "sqlite":
		b, err = sqlite.Open(ctx, filepath.Join(dir, "licensectl.db"), sqlite.Options{Create: true})
	case "postgres":
		b, err = postgres.Open(ctx, dbURL, postgres.Options{Create: true})
	default:
		err = fmt.Errorf("-store %q: sqlite or postgres", kind)
	}
	if err != nil {
		return err
	}
	a := app.New(b, app.Options{Webhooks: webhook.NewSender(webhook.Options{AllowPrivate: true})})
	defer a.Close()
	if _, err := a.Seed(ctx); err != nil {
		return err
	}
	if _, err := a.CreateAccount(ctx, "bench@example.com"); err != nil {
		return err
	}
	acct := licensing.WithAccount(ctx, "bench@example.com")

	rc := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()
	if _, err := a.CreateWebhook(acct, licensing.WebhookCreate{URL: "http://" + ln.Addr().String() + "/hooks", Events: []string{licensing.EventLicenseUpdated}}); err != nil {
		return err
	}
	fmt.Printf("# %s, %d cores, %s, workers %d, batch %d, %s\n", kind, runtime.NumCPU(), runtime.Version(), workers, batch,
		time.Now().UTC().Format(time.RFC3339))

	// Drain: the outbox holds events first; one run delivers them.
	if events > 0 {
		var acctID int64
		if err := b.Read(ctx, func(tx app.Tx) error { acctID, err = tx.AccountID(ctx, "bench@example.com"); return err }); err != nil {
			return err
		}
		data := []byte(`{"key":"XXXXX-XXXXX-XXXXX-XXXXX-XXXXX","product":"backup-desktop","note":"a license's JSON is about this long, give or take a few hundred bytes of fields"}`)
		start := time.Now()
		for done := 0; done < events; {
			n := min(1000, events-done)
			rows := make([]app.EventRow, n)
			for i := range rows {
				rows[i] = app.EventRow{AccountID: acctID, Type: "license.updated", Object: fmt.Sprintf("obj-%d", done+i), Time: time.Now(), Data: data}
			}
			if err := b.Write(ctx, func(tx app.Tx) error { return tx.InsertEvents(ctx, rows) }); err != nil {
				return err
			}
			done += n
		}
		fmt.Printf("wrote %d events in %.2f s\n", events, time.Since(start).Seconds())
		start = time.Now()
		res, err := a.DispatchWebhooks(ctx, app.DispatchOptions{Workers: workers, Batch: batch})
		if err != nil {
			return err
		}
		took := time.Unix(0, rc.last.Load()).Sub(start)
		if rc.got.Load() != int64(events) || res.Delivered != events {
			return fmt.Errorf("drain: received %d, delivered %d, want %d", rc.got.Load(), res.Delivered, events)
		}
		fmt.Printf("drain: %d deliveries in %.2f s: %.0f deliveries/s\n", events, took.Seconds(), float64(events)/took.Seconds())
	}

	if live <= 0 {
		return nil
	}
	// Live: the dispatcher as serve runs it, against changes committed at
	// rate.
	n := rate * int(live/time.Second)
	p, err := a.Buy(acct, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-desktop", Quantity: n}}}, nil)
	if err != nil {
		return err
	}
	rc.mu.Lock()
	rc.receipts = make(map[string]time.Time, n)
	rc.mu.Unlock()
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	go a.RunDispatcher(dctx, app.DispatchOptions{Workers: workers, Batch: batch}, poll, discard{})
	commits := make([]time.Time, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	tick := time.Duration(int64(time.Second) / int64(rate))
	start := time.Now()
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				if d := time.Until(start.Add(time.Duration(i) * tick)); d > 0 {
					time.Sleep(d)
				}
				if _, err := a.UpdateLicense(acct, p.Licenses[i], licensing.LicenseUpdate{AllowRM: ptr(true)}); err != nil {
					failed.Add(1)
					continue
				}
				commits[i] = time.Now()
			}
		})
	}
	wg.Wait()
	produced := time.Since(start)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		got := len(rc.receipts)
		rc.mu.Unlock()
		if got >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var lat []time.Duration
	for i, key := range p.Licenses {
		if at, ok := rc.receipts[key]; ok && !commits[i].IsZero() {
			lat = append(lat, at.Sub(commits[i]))
		}
	}
	if len(lat) != n || failed.Load() != 0 {
		return fmt.Errorf("live: %d of %d changes received (%d failed)", len(lat), n, failed.Load())
	}
	slices.Sort(lat)
	q := func(p float64) string { return fmt.Sprintf("%.1f ms", float64(lat[int(p*float64(len(lat)-1))])/1e6) }
	fmt.Printf("live: %d changes in %.1f s (%.0f/s), commit to receipt p50 %s, p90 %s, p99 %s, max %s\n",
		n, produced.Seconds(), float64(n)/produced.Seconds(), q(0.5), q(0.9), q(0.99), q(1))
	return nil
}

type discard struct{}

func (discard) Error(msg string, args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{msg}, args...)...)
}

func ptr[T any](v T) *T { return &v }
