package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/licensing/licensingtest"
)

// downloadFake serves one build's bytes, from any offset.
func downloadFake(body []byte, sum string) *licensingtest.Services {
	d := &licensing.Download{LicenseKey: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", Build: licensing.Build{Product: "backup-server", Target: "linux-deb",
		OS: "linux", Version: "8.1.0", Package: "deb", Artifact: "bs-8.1.0.deb", Size: int64(len(body)), SHA256: sum, ReleasedAt: testNow},
		Rule: licensing.RuleNewest, Reason: "8.1.0 is the newest linux-deb build"}
	return &licensingtest.Services{
		DownloadFn: func(context.Context, licensing.DownloadRequest) (*licensing.Download, error) { return d, nil },
		OpenDownloadFn: func(_ context.Context, _ licensing.DownloadRequest, off int64) (*licensing.Download, *licensing.DownloadBody, error) {
			return d, &licensing.DownloadBody{ReadCloser: io.NopCloser(bytes.NewReader(body[off:])), Offset: off}, nil
		},
	}
}

// A progress line (bytes, rate, ETA) is drawn on stderr at a terminal and
// never in a pipe; the file lands only once verified.
func TestDownloadProgressOnlyAtATerminal(t *testing.T) {
	t.Setenv("CI", "") // progress is off in CI (.ci/run sets CI=true); this test is about terminals
	body := bytes.Repeat([]byte("x"), 3<<20)
	s := sha256.Sum256(body)
	for _, tty := range []bool{true, false} {
		dir := t.TempDir()
		e, _, out, errOut := testEnv(downloadFake(body, hex.EncodeToString(s[:])), Config{Output: "json"})
		e.IO.StderrTTY = tty
		o := &licensesDownloadOptions{env: e, Key: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", Output: filepath.Join(dir, "f.deb")}
		if err := licensesDownloadRun(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "f.deb"))
		if err != nil || !bytes.Equal(got, body) || !strings.Contains(out.String(), `"verified": true`) {
			t.Fatalf("tty=%v: file %d bytes, %v; stdout %s", tty, len(got), err, out)
		}
		drawn := strings.Contains(errOut.String(), "ETA") && strings.Contains(errOut.String(), "/s")
		if drawn != tty {
			t.Errorf("tty=%v: stderr %q", tty, errOut)
		}
	}
}

// A mismatch exits 1, names both hashes and leaves neither the file nor
// its part.
func TestDownloadMismatchLeavesNothing(t *testing.T) {
	body := []byte("the bytes the server has")
	want := strings.Repeat("0", 64)
	dir := t.TempDir()
	e, _, _, _ := testEnv(downloadFake(body, want), Config{Output: "json"})
	o := &licensesDownloadOptions{env: e, Key: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", Output: filepath.Join(dir, "f.deb")}
	err := licensesDownloadRun(context.Background(), o)
	s := sha256.Sum256(body)
	if code := exitCode(err, true); code != ExitFailure || !strings.Contains(err.Error(), hex.EncodeToString(s[:])) || !strings.Contains(err.Error(), want) {
		t.Fatalf("mismatch: exit %d, %v", code, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
