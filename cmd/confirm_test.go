package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// Declining a confirmation at a terminal is not success: every command that
// asks exits 1 with "nothing was done", and nothing is done.
func TestDecliningAConfirmationExits1(t *testing.T) {
	db := setupStore(t)
	backup := filepath.Join(t.TempDir(), "nightly.db")
	mustRun := func(args ...string) string {
		t.Helper()
		io, _, out, errOut := TestIO()
		if code := run(t, context.Background(), io, append([]string{"--db", db}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out.String()
	}
	mustRun("licenses", "buy", "--product", "backup-desktop", "--quantity", "2", "-q")
	mustRun("backup", backup, "-q")
	mustRun("licenses", "buy", "--product", "backup-desktop", "--quantity", "1", "-q")
	licenses := func() int { return strings.Count(mustRun("licenses", "list", "-o", "csv", "--no-headers"), "\n") }
	plans := func() int { return strings.Count(mustRun("maintenance", "list", "-o", "csv", "--no-headers"), "\n") }

	for _, c := range []struct {
		name     string
		args     []string
		question string
	}{
		{"maintenance buy --all", []string{"maintenance", "buy", "--all"}, "Buy 3 maintenance plan(s) for $30.00 USD, one year each? [y/N]"},
		{"restore", []string{"restore", backup}, "Changes made since the backup are lost. [y/N]"},
	} {
		for _, answer := range []string{"n\n", "no\n", "nope\n"} {
			io, in, out, errOut := TestIO()
			io.StdinTTY = true
			in.WriteString(answer)
			code := run(t, context.Background(), io, append([]string{"--db", db, "-o", "table"}, c.args...)...)
			if code != ExitFailure || !strings.Contains(errOut.String(), c.question) ||
				!strings.Contains(errOut.String(), "error: not confirmed: nothing was done\n") || out.Len() != 0 {
				t.Errorf("%s, answer %q: exit %d, stdout %q, stderr %q; want exit 1, the question and \"nothing was done\"",
					c.name, answer, code, out, errOut)
			}
		}
	}
	if n, p := licenses(), plans(); n != 3 || p != 0 {
		t.Errorf("after declining: %d licenses, %d plans; want 3 and 0", n, p)
	}
}
