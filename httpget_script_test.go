package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// httpgetCmd runs `httpget [-status CODE] URL`: a GET that fails unless the
// answer has status CODE (200 by default); the body becomes stdout, for the
// checks that follow (a scrape of /metrics, a health check).
func httpgetCmd(ts *testscript.TestScript, neg bool, args []string) {
	want := http.StatusOK
	if len(args) == 3 && args[0] == "-status" {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		want, args = n, args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: httpget [-status CODE] URL")
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(args[0])
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s", body)
	if resp.StatusCode != want {
		ts.Fatalf("GET %s: %s, want %d", args[0], resp.Status, want)
	}
}
