package cmd

import (
	"context"
	"strings"
	"testing"
)

// At a terminal, a table shows colour, relative dates and fits the width;
// NO_COLOR and a pipe turn that off.
func TestTerminalTable(t *testing.T) {
	db := setupStore(t)
	io, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io, "--db", db, "-q", "licenses", "buy", "--product", "backup-ultimate", "--quantity", "2"); code != 0 {
		t.Fatalf("buy: %d %s", code, errOut)
	}
	// 80 columns: low-value columns go, STATUS stays whole, in colour.
	t.Setenv("COLUMNS", "80")
	t.Setenv("TERM", "xterm")
	io, _, out, errOut := TestIO()
	io.StdoutTTY = true
	if code := run(t, context.Background(), io, "--db", db, "licenses", "list", "-o", "table"); code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	for _, want := range []string{"\x1b[31mNot activated\x1b[0m", "STATUS", "KEY"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("terminal table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		plain := strings.NewReplacer("\x1b[31m", "", "\x1b[32m", "", "\x1b[2m", "", "\x1b[0m", "").Replace(line)
		if n := len([]rune(plain)); n > 80 {
			t.Errorf("line of %d columns in an 80-column terminal: %q", n, plain)
		}
	}

	// NO_COLOR: no colour, still relative dates.
	t.Setenv("NO_COLOR", "1")
	io, _, out, _ = TestIO()
	io.StdoutTTY = true
	run(t, context.Background(), io, "--db", db, "licenses", "list", "-o", "wide")
	if strings.Contains(out.String(), "\x1b[") || !strings.Contains(out.String(), "now") {
		t.Errorf("NO_COLOR table:\n%s", out)
	}
	// A pipe: the plain table of the golden tests; JSON keeps RFC 3339.
	t.Setenv("NO_COLOR", "")
	io, _, out, _ = TestIO()
	run(t, context.Background(), io, "--db", db, "licenses", "list", "-o", "wide")
	if strings.Contains(out.String(), "\x1b[") || strings.Contains(out.String(), "…") || strings.Contains(out.String(), " now") {
		t.Errorf("piped table is dressed:\n%s", out)
	}
	io, _, out, _ = TestIO()
	io.StdoutTTY = true
	run(t, context.Background(), io, "--db", db, "licenses", "list", "-o", "json")
	if strings.Contains(out.String(), "\x1b[") || !strings.Contains(out.String(), `"created_at":"20`) {
		t.Errorf("json at a terminal:\n%s", out)
	}
}
