package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM while requests are in flight: the server stops accepting, every
// request already sent is answered in full, and serve exits 0.
func TestServeGracefulShutdownLosesNoRequest(t *testing.T) {
	db := setupStore(t)
	io0, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io0, "--db", db, "-q", "licenses", "buy", "--product", "backup-server", "--quantity", "20000"); code != 0 {
		t.Fatalf("buy: %d %s", code, errOut)
	}
	io1, _, out, _ := TestIO()
	if code := run(t, context.Background(), io1, "--db", db, "accounts", "token", "create", "-o", "json"); code != 0 {
		t.Fatal("token create failed")
	}
	var tok struct{ Token string }
	json.Unmarshal(out.Bytes(), &tok)

	addrFile := filepath.Join(t.TempDir(), "addr")
	sio, _, _, serveLog := TestIO()
	exited := make(chan int, 1)
	go func() {
		exited <- run(t, context.Background(), sio, "--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
	}
	if addr == "" {
		t.Fatal("server did not start")
	}
	const n = 6
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /v1/licenses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok.Token)
		conns[i] = c
	}
	time.Sleep(20 * time.Millisecond)
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)

	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request %d lost: %v", i, err)
		}
		var ls []json.RawMessage
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(body, &ls) != nil || len(ls) != 20000 {
			t.Fatalf("request %d: status %d, %d bytes, %d licenses", i, resp.StatusCode, len(body), len(ls))
		}
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, serveLog)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(serveLog.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log: %s", serveLog)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}
