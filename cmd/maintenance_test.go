package cmd

import (
	"context"
	"strings"
	"testing"
)

// At a terminal `maintenance buy --all` shows the count and total and buys
// only on a yes; --yes skips the question.
func TestMaintenanceBulkAsksAtATerminal(t *testing.T) {
	db := setupStore(t)
	mustRun := func(args ...string) string {
		t.Helper()
		io, _, out, errOut := TestIO()
		if code := run(t, context.Background(), io, append([]string{"--db", db}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out.String()
	}
	plans := func() int { return strings.Count(mustRun("maintenance", "list", "-o", "csv", "--no-headers"), "\n") }

	mustRun("licenses", "buy", "--product", "backup-desktop", "--quantity", "3", "-q")
	for _, c := range []struct {
		answer string
		args   []string
		bought bool
		code   int
	}{
		{"n\n", nil, false, ExitFailure}, // declined: exit 1, "nothing was done"
		{"", nil, false, ExitUsage},      // no answer at all
		{"whatever\n", nil, false, ExitFailure},
		{"", []string{"--yes"}, true, 0},
		{"YES\n", nil, true, 0},
	} {
		io, in, out, errOut := TestIO()
		io.StdinTTY = true
		in.WriteString(c.answer)
		args := append([]string{"--db", db, "maintenance", "buy", "--all", "-o", "json"}, c.args...)
		code := run(t, context.Background(), io, args...)
		asked := strings.Contains(errOut.String(), "Buy 3 maintenance plan(s) for $30.00 USD, one year each? [y/N]")
		switch {
		case c.bought && code != 0:
			t.Fatalf("answer %q %v: exit %d: %s", c.answer, c.args, code, errOut)
		case c.bought && !strings.Contains(out.String(), `"count": 3`):
			t.Errorf("answer %q %v: bought %s", c.answer, c.args, out)
		case c.bought && asked == (len(c.args) > 0):
			t.Errorf("answer %q %v: asked = %v: %s", c.answer, c.args, asked, errOut)
		case !c.bought && (code != c.code || !asked || out.Len() != 0 || plans() != 0):
			t.Errorf("answer %q: exit %d, asked %v, stdout %q, %d plans", c.answer, code, asked, out, plans())
		case !c.bought && !strings.Contains(errOut.String(), "nothing was done"):
			t.Errorf("answer %q: stderr %q does not say nothing was done", c.answer, errOut)
		}
		if c.bought {
			mustRun("licenses", "buy", "--product", "backup-desktop", "--quantity", "3", "-q")
		}
	}
	if n := plans(); n != 6 {
		t.Errorf("%d plans, want 6", n)
	}
}
