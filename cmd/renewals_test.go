package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// At a terminal, a run that renews a subscription for several periods at
// once shows the total and asks; declining changes nothing (exit 1), a yes
// runs it. Without a terminal on stdin and stderr it is refused without --yes.
func TestRenewalsRunAsksForSeveralPeriods(t *testing.T) {
	t.Setenv("LICENSECTL_ACCOUNT", "ops@example.com")
	t.Setenv("CI", "")
	db := filepath.Join(t.TempDir(), "store.db")
	start := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	at := func(when time.Time, stdin string, tty bool, args ...string) (int, string, string) {
		t.Helper()
		io, in, out, errOut := TestIO()
		in.WriteString(stdin)
		io.StdinTTY, io.StderrTTY = tty, tty
		code := Execute(context.Background(), BuildInfo{Version: "test"}, licensing.FixedClock(when), append([]string{"--db", db}, args...), io)
		return code, out.String(), errOut.String()
	}
	for _, args := range [][]string{{"init", "-q"}, {"accounts", "create", "ops@example.com", "-q"},
		{"licenses", "buy", "--product", "mbs-server", "--billing", "monthly", "-q"}} {
		if code, _, errOut := at(start, "", false, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	later := start.AddDate(0, 3, 0) // three months due

	code, _, errOut := at(later, "n\n", true, "renewals", "run", "-o", "json")
	if code != ExitFailure || !strings.Contains(errOut, "Charge 3 renewal(s) for $29.97, up to 3 periods of one plan or subscription at once? [y/N]") ||
		!strings.Contains(errOut, "ops@example.com") || !strings.HasSuffix(errOut, "error: nothing was done\n") {
		t.Fatalf("declined: exit %d, stderr %q", code, errOut)
	}
	for _, tty := range []struct{ in, err bool }{{false, false}, {true, false}, {false, true}} {
		io, in, _, errOut := TestIO()
		in.WriteString("y\n")
		io.StdinTTY, io.StderrTTY = tty.in, tty.err
		code := Execute(context.Background(), BuildInfo{Version: "test"}, licensing.FixedClock(later), []string{"--db", db, "renewals", "run"}, io)
		if code != ExitUsage || !strings.Contains(errOut.String(), "confirm with --yes") {
			t.Fatalf("no terminal (%+v): exit %d, stderr %q", tty, code, errOut)
		}
	}
	if code, out, _ := at(later, "", false, "audit", "list", "--action", "renewal.", "-o", "json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("declined and refused runs recorded renewals: %s", out)
	}

	code, out, errOut := at(later, "yes\n", true, "renewals", "run", "-o", "json")
	if code != 0 || !strings.Contains(out, `"renewed": 3,`) || !strings.Contains(out, `"total_cents": 2997,`) {
		t.Fatalf("confirmed: exit %d, stdout %s, stderr %q", code, out, errOut)
	}
	// One period due: no question.
	code, out, errOut = at(later.AddDate(0, 1, 0), "", false, "renewals", "run", "-o", "json")
	if code != 0 || !strings.Contains(out, `"renewed": 1,`) {
		t.Fatalf("one period: exit %d, stdout %s, stderr %q", code, out, errOut)
	}
}
