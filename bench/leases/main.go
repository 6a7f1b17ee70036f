// Command leases is the benchmark of leased activations (issue 18): many CI
// jobs share few seats of one product through `licensectl activations run`
// against `licensectl serve`, on SQLite (one replica) or PostgreSQL (two
// replicas on one database), while a monitor reads the store itself every
// 100 ms and checks that no more machines hold a seat than there are seats.
//
//	go run ./bench/leases -duration 60s                       # SQLite, 1 replica
//	go run ./bench/leases -store postgres -duration 60s       # PostgreSQL, 2 replicas
//
// Each of -jobs jobs loops until -duration is over:
//
//	licensectl activations run --product SKU --machine job-N --fingerprint fp-N-ITER \
//	    --os linux --version 7.9.4 --lease 1m --wait 5m -- sh -c 'date +%s%N > F; sleep 0.2; date +%s%N >> F'
//
// over the http backend, the jobs spread over the replicas' URLs. The child
// records when it starts and ends, so the figures are: jobs completed (all
// of them: jobs started before the end of -duration finish, however long
// they wait) and per minute (children that ended within -duration); the wait (the wrapper's start to its child's start: process
// start, activation, waiting for a seat); seat utilisation (activations the
// store holds, averaged over the samples taken during -duration, over the
// seats); the most holders the store showed (rows of activations and the
// sum of seats_used), and the most children running at once, which must
// not exceed the seats (exit 1 otherwise, or when a job failed); and, from
// the children's times, the time from a child's end to the next child's
// start while jobs were waiting (matching the k-th end with the k+seats-th
// start: the release, a waiter's next poll, its activation and its child's
// start).
//
// The store is made with the licensectl binary (-licensectl, else built
// from this module): init, an account, a token and -seats licenses of a
// 1-seat product. A PostgreSQL run gets a fresh schema of its own
// (search_path), dropped at the end unless -keep.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

type options struct {
	licensectl string
	store      string
	replicas   int
	postgres   string
	jobs       int
	seats      int
	product    string
	duration   time.Duration
	hold       time.Duration
	lease      string
	wait       string
	sample     time.Duration
	rate       float64
	work       string
	keep       bool
}

func main() {
	var o options
	flag.StringVar(&o.licensectl, "licensectl", "", "licensectl binary (empty: go build this module into the work directory)")
	flag.StringVar(&o.store, "store", "sqlite", "sqlite or postgres")
	flag.IntVar(&o.replicas, "replicas", 0, "serve replicas (0: 1 on sqlite, 2 on postgres)")
	flag.StringVar(&o.postgres, "postgres", "postgres://127.0.0.1:5432/test?sslmode=disable", "PostgreSQL database (a fresh schema is made in it)")
	flag.IntVar(&o.jobs, "jobs", 32, "concurrent jobs")
	flag.IntVar(&o.seats, "seats", 8, "seats of the product")
	flag.StringVar(&o.product, "product", "backup-server", "product SKU (licenses of 1 seat or a divisor of -seats)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long jobs keep starting")
	flag.DurationVar(&o.hold, "hold", 200*time.Millisecond, "how long each job's command runs (sleep)")
	flag.StringVar(&o.lease, "lease", "1m", "activations run --lease")
	flag.StringVar(&o.wait, "wait", "5m", "activations run --wait")
	flag.DurationVar(&o.sample, "sample", 100*time.Millisecond, "how often the monitor reads the store")
	flag.Float64Var(&o.rate, "rate", 1e9, "serve --rate (requests/s per token; the jobs share one token)")
	flag.StringVar(&o.work, "work", "", "work directory (default: a temporary one, removed unless -keep)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory and the PostgreSQL schema")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/leases:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// result is one job iteration: one `activations run`.
type result struct {
	job, iter            int
	began, ended         time.Time // the wrapper process
	childStart, childEnd time.Time // zero: the child never ran
	exit                 int
	stderr               string
}

// sample is one read of the store by the monitor.
type sample struct {
	at          time.Time
	activations int
	seatsUsed   int
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "== "+format+"\n", args...) }

func run(ctx context.Context, o options) (bool, error) {
	switch o.store {
	case "sqlite", "postgres":
	default:
		return false, fmt.Errorf("-store %q: want sqlite or postgres", o.store)
	}
	if o.replicas == 0 {
		o.replicas = 1
		if o.store == "postgres" {
			o.replicas = 2
		}
	}
	if o.store == "sqlite" && o.replicas != 1 {
		return false, errors.New("a SQLite store is served by one replica")
	}
	work := o.work
	if work == "" {
		d, err := os.MkdirTemp("", "bench-leases-")
		if err != nil {
			return false, err
		}
		work = d
		if !o.keep {
			defer os.RemoveAll(work)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "child"), 0o755); err != nil {
		return false, err
	}
	bin := o.licensectl
	if bin == "" {
		bin = filepath.Join(work, "licensectl")
		logf("building licensectl into %s", bin)
		b := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
		b.Dir = moduleRoot()
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return false, fmt.Errorf("go build: %w", err)
		}
	} else if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}

	// The store.
	db, dbDriver, dbSource := filepath.Join(work, "leases.db"), "sqlite", ""
	dbSource = "file:" + db + "?mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"
	if o.store == "postgres" {
		u, schema, err := freshSchema(ctx, o.postgres)
		if err != nil {
			return false, err
		}
		db, dbDriver, dbSource = u, "pgx", u
		if !o.keep {
			defer dropSchema(o.postgres, schema)
		}
		logf("PostgreSQL schema %s", schema)
	}
	env := append(os.Environ(), "CI=1", "NO_COLOR=1", "XDG_CONFIG_HOME="+filepath.Join(work, "xdg"))
	const account = "bench@example.com"
	cli := func(args ...string) ([]byte, error) {
		c := exec.CommandContext(ctx, bin, append([]string{"--db", db, "--account", account}, args...)...)
		c.Env = env
		var stderr bytes.Buffer
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return out, fmt.Errorf("licensectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}
	logf("store: %s (%s)", o.store, redact(db))
	if _, err := cli("init", "-q"); err != nil {
		return false, err
	}
	if _, err := cli("accounts", "create", account, "-q"); err != nil {
		return false, err
	}
	mon, err := sql.Open(dbDriver, dbSource)
	if err != nil {
		return false, err
	}
	defer mon.Close()
	mon.SetMaxOpenConns(1)
	if _, err := cli("licenses", "buy", "--product", o.product, "--quantity", "1", "-q"); err != nil {
		return false, err
	}
	var perLicense int
	if err := mon.QueryRowContext(ctx, "SELECT seats FROM licenses").Scan(&perLicense); err != nil {
		return false, fmt.Errorf("read the store: %w", err)
	}
	if perLicense < 1 || o.seats%perLicense != 0 {
		return false, fmt.Errorf("a license of %s has %d seats: -seats %d is not a multiple", o.product, perLicense, o.seats)
	}
	if more := o.seats/perLicense - 1; more > 0 {
		if _, err := cli("licenses", "buy", "--product", o.product, "--quantity", strconv.Itoa(more), "-q"); err != nil {
			return false, err
		}
	}
	var seats int
	if err := mon.QueryRowContext(ctx, "SELECT sum(seats) FROM licenses").Scan(&seats); err != nil || seats != o.seats {
		return false, fmt.Errorf("the store holds %d seats (%v), want %d", seats, err, o.seats)
	}
	out, err := cli("accounts", "token", "create", "-o", "json")
	if err != nil {
		return false, err
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.Token == "" {
		return false, fmt.Errorf("token create answered %q (%v)", out, err)
	}

	// The servers.
	var servers []*exec.Cmd
	var urls []string
	defer func() {
		for _, s := range servers {
			s.Process.Signal(os.Interrupt)
		}
		for _, s := range servers {
			s.Wait()
		}
	}()
	for i := range o.replicas {
		addrFile := filepath.Join(work, fmt.Sprintf("serve-%d.addr", i))
		logFile, err := os.Create(filepath.Join(work, fmt.Sprintf("serve-%d.log", i)))
		if err != nil {
			return false, err
		}
		defer logFile.Close()
		s := exec.Command(bin, "--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile,
			"--rate", strconv.FormatFloat(o.rate, 'f', -1, 64), "--renewals-every", "0")
		s.Env, s.Stdout, s.Stderr = env, logFile, logFile
		if err := s.Start(); err != nil {
			return false, err
		}
		servers = append(servers, s)
		addr, err := waitFile(ctx, addrFile, 30*time.Second)
		if err != nil {
			return false, fmt.Errorf("serve replica %d: %w (see %s)", i, err, logFile.Name())
		}
		urls = append(urls, "http://"+addr)
	}
	logf("%d serve replica(s): %s", len(urls), strings.Join(urls, " "))

	// The monitor.
	var samples []sample
	var sampleErrs int
	monCtx, stopMon := context.WithCancel(ctx)
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		t := time.NewTicker(o.sample)
		defer t.Stop()
		for {
			var s sample
			err := mon.QueryRowContext(monCtx, "SELECT (SELECT count(*) FROM activations), (SELECT coalesce(sum(seats_used), 0) FROM licenses)").
				Scan(&s.activations, &s.seatsUsed)
			s.at = time.Now()
			if err == nil {
				samples = append(samples, s)
			} else if monCtx.Err() == nil {
				sampleErrs++
			}
			select {
			case <-monCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	// The jobs.
	child := fmt.Sprintf(`date +%%s%%N > "$1"; sleep %s; date +%%s%%N >> "$1"`, strconv.FormatFloat(o.hold.Seconds(), 'f', -1, 64))
	logf("%d jobs on %d seats of %s for %s: activations run --lease %s --wait %s -- sh -c '%s'", o.jobs, o.seats, o.product, o.duration, o.lease, o.wait, child)
	start := time.Now()
	deadline := start.Add(o.duration)
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	for j := range o.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobEnv := append(slices.Clip(env), "LICENSECTL_BACKEND=http", "LICENSECTL_API_URL="+urls[j%len(urls)], "LICENSECTL_API_TOKEN="+tok.Token)
			times := filepath.Join(work, "child", strconv.Itoa(j))
			for it := 0; time.Now().Before(deadline) && ctx.Err() == nil; it++ {
				os.Remove(times)
				c := exec.CommandContext(ctx, bin, "activations", "run", "--product", o.product,
					"--machine", fmt.Sprintf("job-%d", j), "--fingerprint", fmt.Sprintf("fp-%d-%d", j, it),
					"--os", "linux", "--version", "7.9.4", "--lease", o.lease, "--wait", o.wait,
					"--", "sh", "-c", child, "sh", times)
				c.Env = jobEnv
				var stderr bytes.Buffer
				c.Stderr = &stderr
				r := result{job: j, iter: it, began: time.Now()}
				err := c.Run()
				r.ended = time.Now()
				var ee *exec.ExitError
				switch {
				case errors.As(err, &ee):
					r.exit = ee.ExitCode()
				case err != nil:
					r.exit = -1
				}
				r.stderr = stderr.String()
				r.childStart, r.childEnd = readTimes(times)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	stopMon()
	<-monDone
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return report(o, results, samples, sampleErrs, start, deadline, wall), nil
}

// report prints the figures and tells whether every check passed.
func report(o options, results []result, samples []sample, sampleErrs int, start, deadline time.Time, wall time.Duration) bool {
	ok := true
	var waits []time.Duration
	var starts, ends []time.Time
	failed := map[int]int{}
	var firstFailure string
	var held time.Duration // children running, within [start, deadline]
	for _, r := range results {
		if r.exit != 0 {
			failed[r.exit]++
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("job %d iteration %d exit %d: %s", r.job, r.iter, r.exit, strings.TrimSpace(r.stderr))
			}
			continue
		}
		if r.childStart.IsZero() || r.childEnd.IsZero() {
			failed[-2]++
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("job %d iteration %d: exit 0 but the child's times are missing", r.job, r.iter)
			}
			continue
		}
		waits = append(waits, r.childStart.Sub(r.began))
		starts, ends = append(starts, r.childStart), append(ends, r.childEnd)
		if s, e := maxTime(r.childStart, start), minTime(r.childEnd, deadline); e.After(s) {
			held += e.Sub(s)
		}
	}
	completed := len(waits)
	slices.Sort(waits)
	slices.SortFunc(starts, time.Time.Compare)
	slices.SortFunc(ends, time.Time.Compare)

	// Holders the store showed.
	maxActs, maxUsed, sum, n := 0, 0, 0, 0
	for _, s := range samples {
		maxActs, maxUsed = max(maxActs, s.activations), max(maxUsed, s.seatsUsed)
		if !s.at.Before(start) && !s.at.After(deadline) {
			sum += s.activations
			n++
		}
	}
	// Children running at once, from their own clocks.
	maxChildren := maxOverlap(results)

	// A child's end to the next start of a waiting job: the k-th end frees
	// the seat the (k+seats)-th start takes, while jobs wait (a wrapper
	// began before the end and its child started after it).
	var gaps []time.Duration
	for k := 0; k+o.seats < len(starts) && k < len(ends); k++ {
		if ends[k].After(deadline) || !waiting(results, ends[k]) {
			continue
		}
		gaps = append(gaps, starts[k+o.seats].Sub(ends[k]))
	}
	slices.Sort(gaps)
	within := 0
	for _, g := range gaps {
		if g <= time.Second {
			within++
		}
	}

	replicas := fmt.Sprintf("%d replica", o.replicas)
	if o.replicas > 1 {
		replicas += "s"
	}
	fmt.Printf("leases: %s, %s; %d jobs on %d seats of %s for %s (child holds %s, --lease %s, --wait %s); wall %s\n",
		o.store, replicas, o.jobs, o.seats, o.product, o.duration, o.hold, o.lease, o.wait, wall.Round(10*time.Millisecond))
	failedN := 0
	for _, c := range failed {
		failedN += c
	}
	fmt.Printf("jobs completed           %d (%d failed%s)\n", completed, failedN, exitCounts(failed))
	inWindow := 0
	for _, e := range ends {
		if !e.After(deadline) {
			inWindow++
		}
	}
	fmt.Printf("jobs/min                 %.0f (%d children ended within the %s)\n", float64(inWindow)/deadline.Sub(start).Minutes(), inWindow, o.duration)
	fmt.Printf("wait p50 / p99 / max     %s / %s / %s\n", ms(pct(waits, 50)), ms(pct(waits, 99)), ms(pct(waits, 100)))
	util := 0.0
	if n > 0 {
		util = 100 * float64(sum) / float64(n) / float64(o.seats)
	}
	fmt.Printf("seat utilisation         %.1f %% (activations in the store, mean of %d samples / %d); children running %.1f %% of the seat time\n",
		util, n, o.seats, 100*held.Seconds()/(float64(o.seats)*deadline.Sub(start).Seconds()))
	fmt.Printf("max holders              %d activations, %d seats_used (%d samples, every %s; %d failed reads); max children at once %d\n",
		maxActs, maxUsed, len(samples), o.sample, sampleErrs, maxChildren)
	if len(gaps) > 0 {
		fmt.Printf("end → next start         p50 %s, p99 %s, max %s (%d ends while jobs waited; %.1f %% within 1 s)\n",
			ms(pct(gaps, 50)), ms(pct(gaps, 99)), ms(pct(gaps, 100)), len(gaps), 100*float64(within)/float64(len(gaps)))
	}
	if maxActs > o.seats || maxUsed > o.seats || maxChildren > o.seats {
		fmt.Printf("FAIL: more holders than the %d seats\n", o.seats)
		ok = false
	}
	if failedN > 0 {
		fmt.Printf("FAIL: %d jobs did not run; the first: %s\n", failedN, firstFailure)
		ok = false
	}
	if completed == 0 || len(samples) == 0 {
		fmt.Println("FAIL: nothing measured")
		ok = false
	}
	return ok
}

// waiting tells whether a job was waiting for a seat at t.
func waiting(results []result, t time.Time) bool {
	for _, r := range results {
		if r.began.Before(t) && (r.childStart.IsZero() || r.childStart.After(t)) && r.ended.After(t) {
			return true
		}
	}
	return false
}

// maxOverlap is the most children that ran at once.
func maxOverlap(results []result) int {
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	for _, r := range results {
		if !r.childStart.IsZero() && !r.childEnd.IsZero() {
			edges = append(edges, edge{r.childStart, 1}, edge{r.childEnd, -1})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.d - b.d // an end before a start at the same instant
	})
	cur, best := 0, 0
	for _, e := range edges {
		cur += e.d
		best = max(best, cur)
	}
	return best
}

func exitCounts(m map[int]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for code, n := range m {
		parts = append(parts, fmt.Sprintf("exit %d: %d", code, n))
	}
	slices.Sort(parts)
	return "; " + strings.Join(parts, ", ")
}

// pct is the p-th percentile of sorted durations (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (p*len(d)+99)/100 - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// readTimes reads the child's start and end (lines of Unix nanoseconds).
func readTimes(path string) (time.Time, time.Time) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, time.Time{}
	}
	var ts [2]time.Time
	for i, line := range strings.Fields(string(b)) {
		if i == 2 {
			break
		}
		if ns, err := strconv.ParseInt(line, 10, 64); err == nil {
			ts[i] = time.Unix(0, ns)
		}
	}
	return ts[0], ts[1]
}

func waitFile(ctx context.Context, path string, limit time.Duration) (string, error) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) && ctx.Err() == nil {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b)), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("no address in %s after %s", path, limit)
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "."
	}
	return filepath.Dir(string(bytes.TrimSpace(out)))
}

// freshSchema checks that the server answers and names a new schema of the
// database (the store creates it), for a run of its own.
func freshSchema(ctx context.Context, base string) (string, string, error) {
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", "", fmt.Errorf("PostgreSQL at %s does not answer (start it, e.g. pg_ctlcluster 15 main start): %w", redact(base), err)
	}
	c.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "lct_bench_leases_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

func dropSchema(base, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/leases: drop schema:", err)
		return
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		fmt.Fprintln(os.Stderr, "bench/leases: drop schema:", err)
	}
}

// redact hides a URL's password.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
