package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// cutserveCmd runs `cutserve VAR DIR CUT`: it serves the files of DIR on a
// loopback port (named in $VAR) as a download mirror does, with Range, but
// cuts the connection after CUT bytes of the first request for each file
// that starts at its beginning - an interrupted download to resume. It
// stops when the script ends.
func cutserveCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: cutserve VAR DIR CUT")
	}
	dir := ts.MkAbs(args[1])
	cut, err := strconv.Atoi(args[2])
	ts.Check(err)
	var mu sync.Mutex
	cutOnce := map[string]bool{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		mu.Lock()
		first := !cutOnce[name] && r.Header.Get("Range") == ""
		cutOnce[name] = true
		mu.Unlock()
		if first {
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
			w.WriteHeader(http.StatusOK)
			buf := make([]byte, cut)
			n, _ := f.Read(buf)
			w.Write(buf[:n])
			w.(http.Flusher).Flush()
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		http.ServeContent(w, r, name, st.ModTime(), f)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], ln.Addr().String())
}
