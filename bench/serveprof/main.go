// Command serveprof serves the licensectl REST API on a store exactly as
// `licensectl serve` does (same handler, JSON request log, timeouts) and
// writes a CPU profile of the server while a load generator runs, for the
// evidence in docs/performance.md:
//
//	go run ./bench/serveprof -db STORE -addr-file ADDR -seconds 8 -o serve.prof &
//	wrk -t2 -c32 -d10s -H "Authorization: Bearer $TOKEN" "http://$(cat ADDR)/v1/licenses?limit=50"
//	go tool pprof -top -cum serve.prof
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/sqlite"
)

func main() {
	db := flag.String("db", "", "licensectl store")
	addrFile := flag.String("addr-file", "", "write the address listened on to this file")
	warmup := flag.Duration("warmup", 2*time.Second, "time before profiling starts (start the load generator meanwhile)")
	seconds := flag.Int("seconds", 8, "seconds to profile")
	out := flag.String("o", "serve.prof", "CPU profile file")
	logFile := flag.String("log", os.DevNull, "request log file")
	flag.Parse()
	if err := run(*db, *addrFile, *warmup, time.Duration(*seconds)*time.Second, *out, *logFile); err != nil {
		log.Fatal(err)
	}
}

func run(db, addrFile string, warmup, d time.Duration, out, logFile string) error {
	store, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	lf, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer lf.Close()
	lg := slog.New(slog.NewJSONHandler(lf, nil))
	srv := httpapi.NewHTTPServer(httpapi.NewServer(app.New(store, app.Options{}), httpapi.Options{Logger: lg, Rate: 1e9}), lg, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			return err
		}
	}
	go srv.Serve(ln)
	defer srv.Close()
	time.Sleep(warmup)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	time.Sleep(d)
	pprof.StopCPUProfile()
	return nil
}
