package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serveProcess is one `licensectl serve` process on addr ("127.0.0.1:0"
// picks a port); it returns the address it listens on.
func serveProcess(t *testing.T, db, addr string) (*exec.Cmd, string) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command("licensectl", "--db", db, "serve", "--addr", addr, "--addr-file", addrFile, "--rate", "1000")
	cmd.Env = append(os.Environ(), "CI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(addrFile); len(b) > 0 {
			return cmd, strings.TrimSpace(string(b))
		}
	}
	t.Fatal("licensectl serve did not start")
	return nil, ""
}

// A server restart of about 1.5 s fails no CLI command: while two streams
// of commands (lists, a license's details, purchases with idempotency keys)
// run with backend http, the server is killed (SIGKILL, mid-request) and
// started again on the same address, twice. Every command succeeds, and
// every purchase is made exactly once.
func TestServerRestartFailsNoCommand(t *testing.T) {
	t.Parallel()
	db := newStore(t)
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "accounts", "token", "create", "-o", "json")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %v %q", err, tok.Token)
	}
	key := strings.TrimSpace(mustRun(t, db, "licenses", "buy", "--product", "backup-desktop", "--quantity", "1", "--idempotency-key", "first", "-o", "json", "--jq", ".licenses[0]"))

	srv, addr := serveProcess(t, db, "127.0.0.1:0")
	remote := func(args ...string) (string, error) {
		cmd := exec.Command("licensectl", args...)
		cmd.Env = append(os.Environ(), "CI=1", "LICENSECTL_BACKEND=http", "LICENSECTL_API_URL=http://"+addr,
			"LICENSECTL_API_TOKEN="+tok.Token, "LICENSECTL_ACCOUNT=", "LICENSECTL_HTTP_RETRY_FOR=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	bought := map[string]bool{}
	ran := 0
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				var args []string
				switch i % 3 {
				case 0:
					args = []string{"licenses", "list", "--limit", "20", "-o", "json"}
				case 1:
					args = []string{"licenses", "show", key, "-o", "json"}
				case 2:
					k := fmt.Sprintf("restart-%d-%d", w, i)
					mu.Lock()
					bought[k] = true
					mu.Unlock()
					args = []string{"licenses", "buy", "--product", "backup-desktop", "--quantity", "3", "--idempotency-key", k, "-q"}
				}
				out, err := remote(args...)
				mu.Lock()
				ran++
				if err != nil {
					failed = append(failed, fmt.Sprintf("%v: %v\n%s", args, err, out))
				}
				mu.Unlock()
			}
		})
	}

	for range 2 {
		time.Sleep(700 * time.Millisecond)
		srv.Process.Kill()
		srv.Wait()
		time.Sleep(1500 * time.Millisecond)
		var got string
		srv, got = serveProcess(t, db, addr)
		if got != addr {
			t.Fatalf("restarted on %s, not %s", got, addr)
		}
	}
	time.Sleep(700 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if len(failed) > 0 {
		t.Fatalf("%d of %d commands failed across the restarts:\n%s", len(failed), ran, strings.Join(failed, "\n"))
	}
	byKey := storeState(t, db)
	for k := range bought {
		if byKey[k] != 3 {
			t.Errorf("purchase %s: %d licenses, want 3", k, byKey[k])
		}
	}
	if len(byKey) != len(bought)+1 {
		t.Errorf("%d purchases in the store, want %d", len(byKey), len(bought)+1)
	}
	t.Logf("%d commands, %d purchases across two restarts", ran, len(bought))
}
