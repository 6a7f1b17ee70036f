package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// run executes licensectl in-process with buffers for its streams.
func run(t *testing.T, ctx context.Context, io *IOStreams, args ...string) int {
	t.Helper()
	return Execute(ctx, BuildInfo{Version: "test"}, licensing.SystemClock{}, args, io)
}

func setupStore(t *testing.T) string {
	t.Helper()
	t.Setenv("LICENSECTL_ACCOUNT", "ops@example.com")
	t.Setenv("CI", "")
	db := filepath.Join(t.TempDir(), "store.db")
	for _, args := range [][]string{{"init"}, {"accounts", "create", "ops@example.com"}} {
		io, _, _, errOut := TestIO()
		if code := run(t, context.Background(), io, append([]string{"--db", db, "-q"}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	return db
}

// A real SIGINT during a 100,000-license purchase exits 130 and rolls the
// whole purchase back.
func TestInterruptedBuyLeavesNothing(t *testing.T) {
	db := setupStore(t)
	go func() {
		time.Sleep(400 * time.Millisecond)
		syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	}()
	io, _, out, errOut := TestIO()
	start := time.Now()
	code := run(t, context.Background(), io, "--db", db, "licenses", "buy", "--product", "backup-server", "--quantity", "100000", "-o", "json")
	if code != ExitInterrupted || !strings.Contains(errOut.String(), "error: interrupted") {
		t.Fatalf("exit %d after %v, stderr %q, stdout %d bytes", code, time.Since(start), errOut, out.Len())
	}
	io, _, out, _ = TestIO()
	if code := run(t, context.Background(), io, "--db", db, "licenses", "list", "-o", "json"); code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("after interrupt: exit %d, licenses %q", code, out.String())
	}
	io, _, out, _ = TestIO()
	run(t, context.Background(), io, "--db", db, "audit", "list", "--action", "purchase.", "-o", "json")
	if strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("audit has a purchase: %s", out)
	}
}

func TestProgressBarOnlyForPeopleAtATerminal(t *testing.T) {
	db := setupStore(t)
	for _, c := range []struct {
		name   string
		tty    bool
		args   []string
		expect bool
	}{
		{"terminal", true, []string{"-o", "table"}, true},
		{"json", true, []string{"-o", "json"}, false},
		{"quiet", true, []string{"-o", "table", "-q"}, false},
		{"pipe", false, []string{"-o", "table"}, false},
	} {
		io, _, _, errOut := TestIO()
		io.StderrTTY = c.tty
		args := append([]string{"--db", db, "licenses", "buy", "--product", "backup-desktop", "--quantity", "5000"}, c.args...)
		if code := run(t, context.Background(), io, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errOut)
		}
		if got := strings.Contains(errOut.String(), "Buying licenses 5000/5000"); got != c.expect {
			t.Errorf("%s: progress shown = %v, want %v (stderr %q)", c.name, got, c.expect, errOut)
		}
	}
}

func TestExitCodes(t *testing.T) {
	for err, want := range map[error]int{
		licensing.Errorf(licensing.EINVALID, "x"):      ExitUsage,
		licensing.Errorf(licensing.ENOTFOUND, "x"):     ExitNotFound,
		licensing.Errorf(licensing.EUNAUTHORIZED, "x"): ExitAuth,
		licensing.Errorf(licensing.ECONFLICT, "x"):     ExitConflict,
		licensing.Errorf(licensing.EINTERNAL, "x"):     ExitFailure,
		context.Canceled: ExitInterrupted,
	} {
		if got := exitCode(err, true); got != want {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, want)
		}
	}
}
