package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// With backend http, a server that answers 503 a few times is retried: a
// terminal is told "retrying… (server unavailable)" once per wait, a pipe is
// not, and http.retry_for (LICENSECTL_HTTP_RETRY_FOR) bounds the retries,
// 0 turning them off (exit 75 at once).
func TestHTTPRetriesAndTellsATerminal(t *testing.T) {
	var calls atomic.Int32
	var failFirst atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failFirst.Load() {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"type":"x","title":"Service Unavailable","status":503,"detail":"the store is unavailable: PostgreSQL is shutting down","code":"unavailable"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]\n"))
	}))
	defer srv.Close()
	t.Setenv("LICENSECTL_BACKEND", "http")
	t.Setenv("LICENSECTL_API_URL", srv.URL)
	t.Setenv("LICENSECTL_API_TOKEN", "lct_test")
	t.Setenv("LICENSECTL_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, c := range []struct {
		name     string
		tty      bool
		retryFor string
		code     int
		notices  int
		calls    int32
	}{
		{"terminal", true, "", 0, 2, 3},
		{"pipe", false, "", 0, 0, 3},
		{"quiet", true, "", 0, 0, 3},
		{"off", true, "0", ExitTempFail, 0, 1},
	} {
		calls.Store(0)
		failFirst.Store(2)
		t.Setenv("LICENSECTL_HTTP_RETRY_FOR", c.retryFor)
		io, _, _, errOut := TestIO()
		io.StderrTTY = c.tty
		args := []string{"companies", "list", "-o", "json"}
		if c.name == "quiet" {
			args = append(args, "-q")
		}
		code := run(t, context.Background(), io, args...)
		if code != c.code || calls.Load() != c.calls {
			t.Fatalf("%s: exit %d after %d calls, want %d after %d: %s", c.name, code, calls.Load(), c.code, c.calls, errOut)
		}
		if n := strings.Count(errOut.String(), "retrying… (server unavailable)\n"); n != c.notices {
			t.Errorf("%s: %d notices, want %d: %q", c.name, n, c.notices, errOut)
		}
		if c.code == ExitTempFail && !strings.Contains(errOut.String(), "error: the store is unavailable: PostgreSQL is shutting down") {
			t.Errorf("%s: stderr %q", c.name, errOut)
		}
	}

	t.Setenv("LICENSECTL_HTTP_RETRY_FOR", "soon")
	io, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io, "companies", "list"); code != ExitUsage || !strings.Contains(errOut.String(), "http.retry_for") {
		t.Errorf("bad duration: exit %d: %s", code, errOut)
	}
}
