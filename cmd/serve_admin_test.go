package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/metrics/metricstest"
)

// waitAddr waits for serve to write an address file.
func waitAddr(t *testing.T, file string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(file); len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("%s was not written", file)
	return ""
}

func httpGet(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// serve --admin-addr serves Prometheus metrics and profiles on a listener
// of its own: a scrape parses, requests to the public listener move its
// counters under their route pattern, and the public listener has neither.
func TestServeAdminListener(t *testing.T) {
	db := setupStore(t)
	io0, _, out, errOut := TestIO()
	if code := run(t, context.Background(), io0, "--db", db, "accounts", "token", "create", "-o", "json"); code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	var tok struct{ Token string }
	json.Unmarshal(out.Bytes(), &tok)
	adminFile := filepath.Join(t.TempDir(), "admin-addr")
	ctx, cancel := context.WithCancel(context.Background())
	addr, exited, serveLog := startServe(t, ctx, db, "--admin-addr", "127.0.0.1:0", "--admin-addr-file", adminFile)
	admin := waitAddr(t, adminFile)
	if admin == addr {
		t.Fatalf("the admin listener is the public one: %s", addr)
	}

	before := metricstest.Scrape(t, "http://"+admin+"/metrics")
	if got := before.Value("licensectl_build_info", "version", "test"); got != 1 {
		t.Fatalf("build_info{version=test} = %v", got)
	}
	for _, name := range []string{"licensectl_http_requests_in_flight", "licensectl_activations_active", "licensectl_store_transaction_retries_total"} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	for range 2 {
		if resp, body := httpGet(t, "http://"+addr+"/v1/licenses?limit=5", "Authorization", "Bearer "+tok.Token); resp.StatusCode != 200 {
			t.Fatalf("list: %s %s", resp.Status, body)
		}
	}
	httpGet(t, "http://"+addr+"/v1/licenses/ABCDE-ABCDE-ABCDE-ABCDE-ABCDE", "Authorization", "Bearer "+tok.Token)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		if resp, body := httpGet(t, "http://"+addr+path); resp.StatusCode != 404 {
			t.Errorf("public %s: %s %.80s", path, resp.Status, body)
		}
	}
	after := metricstest.Scrape(t, "http://"+admin+"/metrics")
	labels := []string{"method", "GET", "route", "/v1/licenses", "code", "200"}
	if got := after.Value("licensectl_http_requests_total", labels...) - before.Value("licensectl_http_requests_total", labels...); got != 2 {
		t.Errorf("GET /v1/licenses 200 moved by %v, want 2", got)
	}
	if got := after.Value("licensectl_http_requests_total", "route", "/v1/licenses/{key}"); got != 1 {
		t.Errorf("GET /v1/licenses/{key} counted %v times, want 1", got)
	}
	if got := after.Value("licensectl_http_requests_total", "route", "unmatched", "code", "404"); got != 3 {
		t.Errorf("unmatched 404s %v, want 3 (the public /metrics and /debug/pprof/)", got)
	}
	if got := after.Value("licensectl_store_transaction_duration_seconds", "kind", "read"); got < 2 {
		t.Errorf("store reads %v, want at least 2", got)
	}
	for _, v := range after.LabelValues("licensectl_http_requests_total", "route") {
		if strings.Contains(v, "ABCDE") {
			t.Errorf("route label %q holds a key", v)
		}
	}
	if resp, body := httpGet(t, "http://"+admin+"/debug/pprof/goroutine?debug=1"); resp.StatusCode != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("admin pprof: %s %.80s", resp.Status, body)
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("serve exited %d: %s", code, serveLog)
	}
	if !strings.Contains(serveLog.String(), `"msg":"admin listening","url":"http://`+admin+`"`) {
		t.Errorf("no admin listening line:\n%s", serveLog)
	}
}

// Bad admin addresses and trusted proxies are refused at start (exit 2),
// before anything listens; a non-loopback admin address needs
// --admin-allow-remote.
func TestServeRefusesBadAdminAddrAndProxies(t *testing.T) {
	db := setupStore(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--admin-addr", "0.0.0.0:9090"}, "error: --admin-addr 0.0.0.0:9090 is not a loopback address"},
		{[]string{"--admin-addr", ":9090"}, "error: --admin-addr :9090 is not a loopback address"},
		{[]string{"--admin-addr", "192.0.2.1:9090"}, "is not a loopback address"},
		{[]string{"--admin-addr", "9090"}, "error: --admin-addr 9090: want HOST:PORT"},
		{[]string{"--addr", "127.0.0.1:18080", "--admin-addr", "127.0.0.1:18080"}, "is the --addr"},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, `error: --trusted-proxies: invalid trusted proxy "10.0.0.0/33"`},
		{[]string{"--trusted-proxies", "10.0.0.0/8,banana"}, `invalid trusted proxy "banana"`},
		{[]string{"--admin-addr", "127.0.0.1:0", "--admin-allow-remote=maybe"}, "admin-allow-remote"},
	} {
		io, _, _, errOut := TestIO()
		if code := run(t, context.Background(), io, append([]string{"--db", db, "serve", "--addr", "127.0.0.1:0"}, c.args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", c.args, code, errOut)
		}
		if !strings.Contains(errOut.String(), c.want) || strings.Contains(errOut.String(), "listening") {
			t.Errorf("%v: %s, want %q and nothing listening", c.args, errOut, c.want)
		}
	}
	// The config file may list them; the environment sets them as the flag.
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte("serve:\n  trusted-proxies: [10.0.0.0/8, listed-nonsense]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	io, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io, "--config", config, "--db", db, "serve", "--addr", "127.0.0.1:0"); code != 2 || !strings.Contains(errOut.String(), `"listed-nonsense"`) {
		t.Errorf("from the config file: exit %d: %s", code, errOut)
	}
	t.Setenv("LICENSECTL_SERVE_TRUSTED_PROXIES", "10.0.0.0/8,env-nonsense")
	io, _, _, errOut = TestIO()
	if code := run(t, context.Background(), io, "--db", db, "serve", "--addr", "127.0.0.1:0"); code != 2 || !strings.Contains(errOut.String(), `"env-nonsense"`) {
		t.Errorf("from the environment: exit %d: %s", code, errOut)
	}
}

func TestCheckAdminAddr(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:9090": true, "127.1.2.3:9090": true, "[::1]:9090": true, "localhost:9090": true,
		"0.0.0.0:9090": false, ":9090": false, "[::]:9090": false, "10.0.0.1:9090": false, "metrics.example.com:9090": false} {
		if err := checkAdminAddr(addr, "127.0.0.1:8080", false); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
		if err := checkAdminAddr(addr, "127.0.0.1:8080", true); err != nil {
			t.Errorf("%s with --admin-allow-remote: %v", addr, err)
		}
	}
}

// Behind a trusted proxy the log line names the client the proxy saw (and
// the request id); by default a forwarded header names no one.
func TestServeTrustedProxiesInTheLog(t *testing.T) {
	db := setupStore(t)
	requestLine := func(log, id string) map[string]any {
		sc := bufio.NewScanner(strings.NewReader(log))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
				return m
			}
		}
		t.Fatalf("no request line with request_id %s:\n%s", id, log)
		return nil
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "127.0.0.1"},
		{[]string{"--trusted-proxies", "127.0.0.0/8,::1"}, "203.0.113.9"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		addr, exited, serveLog := startServe(t, ctx, db, c.args...)
		resp, _ := httpGet(t, "http://"+addr+"/healthz", "X-Forwarded-For", "198.51.100.1, 203.0.113.9", "X-Request-ID", "trace-42")
		if resp.Header.Get("X-Request-ID") != "trace-42" {
			t.Errorf("%v: X-Request-ID %q", c.args, resp.Header.Get("X-Request-ID"))
		}
		cancel()
		if code := <-exited; code != 0 {
			t.Fatalf("serve exited %d: %s", code, serveLog)
		}
		if line := requestLine(serveLog.String(), "trace-42"); line["client"] != c.want {
			t.Errorf("%v: client %v, want %s", c.args, line["client"], c.want)
		}
	}
}
