package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Every 503 says when to try again: Retry-After of at least one second (a
// longer one a handler chose is kept) and retry_at in the body.
func TestEvery503HasRetryAfter(t *testing.T) {
	for _, set := range []string{"", "0", "-3", "junk", "5"} {
		rec := httptest.NewRecorder()
		if set != "" {
			rec.Header().Set("Retry-After", set)
		}
		before := time.Now().Truncate(time.Second)
		writeProblem(rec, problemFor(licensing.Errorf(licensing.EUNAVAILABLE, "the store is busy")))
		want := "1"
		if set == "5" {
			want = "5"
		}
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != want {
			t.Errorf("set %q: %d, Retry-After %q, want 503 and %q", set, rec.Code, rec.Header().Get("Retry-After"), want)
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != licensing.EUNAVAILABLE || p.RetryAt == nil {
			t.Fatalf("set %q: body %s (%v)", set, rec.Body, err)
		}
		if p.RetryAt.Before(before.Add(time.Second)) || p.RetryAt.After(time.Now().Add(6*time.Second)) {
			t.Errorf("set %q: retry_at %v", set, p.RetryAt)
		}
	}
	// Other statuses are left alone.
	rec := httptest.NewRecorder()
	writeProblem(rec, problemFor(licensing.Errorf(licensing.ENOTFOUND, "no such license")))
	if rec.Header().Get("Retry-After") != "" || strings.Contains(rec.Body.String(), "retry_at") {
		t.Errorf("404 got Retry-After %q, body %s", rec.Header().Get("Retry-After"), rec.Body)
	}
}
