package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/licensectl/licensectl/internal/contract"
)

// hookRequest is one request a script's receiver got, as it keeps it.
type hookRequest struct {
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
	Status int         `json:"status"`
	At     time.Time   `json:"at"`
}

// receiverCmd runs `receiver NAME [-fail N] [-hang]`: a webhook receiver on
// a loopback port for the rest of the script, at $NAME_URL. It keeps every
// request in $WORK/NAME/NNNN.json; it answers 500 to the first N and 200
// after; with -hang it holds the first request open (writing
// $WORK/NAME/hanging) until the sender goes away, and keeps it with
// status 0.
func receiverCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: receiver NAME [-fail N] [-hang]")
	}
	name := args[0]
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fail := fs.Int("fail", 0, "")
	hang := fs.Bool("hang", false, "")
	ts.Check(fs.Parse(args[1:]))
	dir := ts.MkAbs(name)
	ts.Check(os.MkdirAll(dir, 0o755))
	var mu sync.Mutex
	n := 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		status := http.StatusOK
		switch {
		case *hang && i == 1:
			status = 0 // no answer
		case i <= *fail:
			status = http.StatusInternalServerError
		}
		js, _ := json.Marshal(hookRequest{Header: r.Header, Body: string(body), Status: status, At: time.Now()})
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.json", i)), js, 0o644)
		if status == 0 {
			_ = os.WriteFile(filepath.Join(dir, "hanging"), []byte("1\n"), 0o644)
			<-r.Context().Done() // until the sender goes away (killed)
			return
		}
		w.WriteHeader(status)
	})}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(strings.ToUpper(name)+"_URL", "http://"+ln.Addr().String()+"/hooks")
}

// hooksCmd runs `hooks NAME SECRET`: it checks every request NAME's
// receiver kept against the Standard Webhooks signature (an independent
// implementation of the specification, contract.VerifyStandardWebhook) and
// prints one line per message id, in the order they first arrived:
// "ID TYPE OBJECT STATUSES" (STATUSES: the answers, in order, e.g.
// 500,500,200). A request that does not verify fails the script.
func hooksCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: hooks NAME SECRET")
	}
	files, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "*.json"))
	ts.Check(err)
	sort.Strings(files)
	type msg struct {
		typ, object string
		statuses    []string
	}
	var order []string
	msgs := map[string]*msg{}
	for _, f := range files {
		var req hookRequest
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(f)), &req))
		if !contract.VerifyStandardWebhook(args[1], req.Header, []byte(req.Body), req.At) {
			ts.Fatalf("%s: the signature does not verify", filepath.Base(f))
		}
		var ev struct{ Type, Object string }
		ts.Check(json.Unmarshal([]byte(req.Body), &ev))
		id := req.Header.Get("webhook-id")
		m, ok := msgs[id]
		if !ok {
			m = &msg{typ: ev.Type, object: ev.Object}
			msgs[id] = m
			order = append(order, id)
		}
		if m.typ != ev.Type || m.object != ev.Object {
			ts.Fatalf("message %s changed between attempts", id)
		}
		m.statuses = append(m.statuses, strconv.Itoa(req.Status))
	}
	for _, id := range order {
		m := msgs[id]
		fmt.Fprintf(ts.Stdout(), "%s %s %s %s\n", id, m.typ, m.object, strings.Join(m.statuses, ","))
	}
}
