package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	e, _, out, _ := testEnv(nil, Config{})
	o := &healthcheckOptions{env: e, URL: srv.URL + "/healthz", Timeout: 5 * time.Second}
	if err := healthcheckRun(context.Background(), o); err != nil || out.String() != srv.URL+"/healthz: ok\n" {
		t.Errorf("healthy: %v, %q", err, out)
	}
	status = http.StatusServiceUnavailable
	if err := healthcheckRun(context.Background(), o); exitCode(err, true) != 75 {
		t.Errorf("unhealthy: %v (exit %d), want exit 75", err, exitCode(err, true))
	}
	srv.Close()
	if err := healthcheckRun(context.Background(), o); exitCode(err, true) != 75 {
		t.Errorf("down: %v (exit %d), want exit 75", err, exitCode(err, true))
	}
	if o := mustParse(t, newHealthcheckCmd); o.URL != "http://127.0.0.1:8080/healthz" || o.Timeout != 5*time.Second {
		t.Errorf("defaults: %+v", o)
	}
	wantUsageError(t, newHealthcheckCmd, "http:// or https:// URL", "ftp://x")
}
