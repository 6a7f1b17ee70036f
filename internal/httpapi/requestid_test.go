package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// logBuffer collects a server's log lines; the server writes them from its
// own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// line waits (a request's line is logged just after its answer is sent)
// for the log line of msg whose request_id is id, and returns it decoded.
func (b *logBuffer) line(t *testing.T, msg, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(b.String()))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg && m["request_id"] == id {
				return m
			}
		}
	}
	t.Fatalf("no %q line with request_id %q in the log:\n%s", msg, id, b.String())
	return nil
}

func logTo(b *logBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// A sane X-Request-ID is kept: echoed in the response, in the Problem body
// and in the request's log line (which never shows the token's secret).
func TestRequestIDHonoured(t *testing.T) {
	var log logBuffer
	fx := setup(t, Options{Logger: logTo(&log)})
	for _, id := range []string{"req-1", "0f8fad5b-d9cb-469f-a165-70867728950e", "A.b_C-9", strings.Repeat("x", 128)} {
		resp, _ := fx.request(t, "GET", "/v1/licenses/"+fx.key, fx.tokenA, "", "X-Request-ID", id)
		if resp.StatusCode != 200 || resp.Header.Get("X-Request-ID") != id {
			t.Fatalf("%q: %s, X-Request-ID %q", id, resp.Status, resp.Header.Get("X-Request-ID"))
		}
		line := log.line(t, "request", id)
		if line["path"] != "/v1/licenses/"+fx.key || line["status"] != float64(200) {
			t.Errorf("%q: log line %v", id, line)
		}
	}
	if strings.Contains(log.String(), fx.tokenA) {
		t.Fatal("the log shows a token's secret")
	}
	// Problems carry it in request_id, whoever refuses the request.
	for _, c := range []struct{ path, token string }{
		{"/v1/licenses/" + fx.key, ""},                            // 401, before any handler
		{"/v1/licenses/AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", fx.tokenA}, // the use case's 400 or 404
		{"/v1/nope", fx.tokenA},                                   // no route
	} {
		resp, body := fx.request(t, "GET", c.path, c.token, "", "X-Request-ID", "problem-"+c.token[:min(4, len(c.token))])
		var p Problem
		if err := json.Unmarshal([]byte(body), &p); err != nil || resp.StatusCode < 400 {
			t.Fatalf("%s: %s %s", c.path, resp.Status, body)
		}
		if p.RequestID != resp.Header.Get("X-Request-ID") || !strings.HasPrefix(p.RequestID, "problem-") {
			t.Errorf("%s: %d request_id %q, header %q", c.path, resp.StatusCode, p.RequestID, resp.Header.Get("X-Request-ID"))
		}
	}
}

// An id that is missing or not sane (too long, blanks, non-ASCII,
// separators; net/http itself refuses control characters) is replaced by a
// random one, in the response and the log alike.
func TestRequestIDGeneratedWhenMissingOrInsane(t *testing.T) {
	var log logBuffer
	fx := setup(t, Options{Logger: logTo(&log)})
	seen := map[string]bool{}
	for _, sent := range []string{"", strings.Repeat("x", 129), "two words", "a\tb", "ünïcode", "a,b", `{"json":1}`, "a/b"} {
		var header []string
		if sent != "" {
			header = []string{"X-Request-ID", sent}
		}
		resp, body := fx.request(t, "GET", "/v1/licenses/nope", fx.tokenA, "", header...)
		id := resp.Header.Get("X-Request-ID")
		if !generatedID.MatchString(id) || seen[id] {
			t.Fatalf("sent %q: got %q, want a new random id", sent, id)
		}
		seen[id] = true
		var p Problem
		if json.Unmarshal([]byte(body), &p) != nil || p.RequestID != id {
			t.Errorf("sent %q: body %s, want request_id %q", sent, body, id)
		}
		log.line(t, "request", id)
	}
	if strings.Contains(log.String(), "two words") {
		t.Fatalf("an insane id reached the log:\n%s", log.String())
	}
}

// The client turns a bare "internal error" into one whose hint names the
// request id, which the operator finds in the server log.
func TestInternalErrorHintNamesRequestID(t *testing.T) {
	p := Problem{Status: 500, Code: licensing.EINTERNAL, Detail: "internal error", RequestID: "abc123"}
	err := p.errorOf()
	if licensing.ErrorCode(err) != licensing.EINTERNAL || !strings.Contains(licensing.ErrorHint(err), "request_id abc123") {
		t.Fatalf("%v, hint %q", err, licensing.ErrorHint(err))
	}
	p = Problem{Status: 404, Code: licensing.ENOTFOUND, Detail: "no such license", RequestID: "abc123"}
	if h := licensing.ErrorHint(p.errorOf()); h != "" {
		t.Fatalf("a 404 got hint %q", h)
	}
}
