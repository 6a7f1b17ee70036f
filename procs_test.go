package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Helpers shared by the tests that drive real licensectl processes
// (backup_test.go, crash_test.go, serve_race_test.go, hostile_test.go).

// startServe runs `licensectl serve` on db as a separate process and returns
// its base URL and a function that stops it (SIGTERM, and waits); it is
// stopped when the test ends at the latest.
func startServe(t *testing.T, db string, extra ...string) (string, func()) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command("licensectl", append([]string{"--db", db, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile}, extra...)...)
	cmd.Env = append(os.Environ(), "CI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(addrFile); len(b) > 0 {
			return "http://" + strings.TrimSpace(string(b)), stop
		}
	}
	t.Fatal("licensectl serve did not start")
	return "", nil
}

// fileDigest is the SHA-256 of a file, to show it was left untouched.
func fileDigest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// exitCode is the exit code of a finished licensectl run (0 for no error).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("licensectl did not run: %v", err)
	}
	return ee.ExitCode()
}
