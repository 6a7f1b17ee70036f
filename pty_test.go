package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/clipperhouse/displaywidth"
	"github.com/creack/pty"
)

// These tests run the real binary (the test binary as licensectl) with its
// standard output and input on a pseudo-terminal of a given size, as a person
// at a terminal would: tables fit the window, long ones go through the pager.

// ttyEnv is the environment of a licensectl at a terminal: none of the
// developer's settings (config, pager, window size) leak in.
type ttyEnv struct {
	t    *testing.T
	db   string
	home string
	env  []string
}

func newTTYEnv(t *testing.T) *ttyEnv {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no pseudo-terminals on Windows")
	}
	home := t.TempDir()
	e := &ttyEnv{t: t, db: filepath.Join(home, "store.db"), home: home}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "LICENSECTL_"), name == "PAGER", name == "COLUMNS", name == "LINES",
			name == "NO_COLOR", name == "HOME", name == "XDG_CONFIG_HOME", name == "XDG_DATA_HOME", name == "LESS", name == "CI":
			continue
		}
		e.env = append(e.env, kv)
	}
	e.env = append(e.env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "LICENSECTL_DB="+e.db,
		"LICENSECTL_ACCOUNT=ops@example.com", "LICENSECTL_TEST_NOW=2026-01-15T10:00:00Z", "TERM=xterm")
	return e
}

func (e *ttyEnv) command(extraEnv []string, args ...string) *exec.Cmd {
	c := exec.Command("licensectl", args...)
	c.Env = append(append([]string(nil), e.env...), extraEnv...)
	return c
}

// run runs licensectl in a pipe and fails the test on a non-zero exit.
func (e *ttyEnv) run(extraEnv []string, args ...string) string {
	e.t.Helper()
	c := e.command(extraEnv, args...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		e.t.Fatalf("licensectl %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// tty runs licensectl with stdin and stdout on a terminal of cols x rows;
// stderr stays a pipe. It returns what the terminal showed (\r\n as \n) and
// stderr.
func (e *ttyEnv) tty(cols, rows uint16, extraEnv []string, args ...string) (string, string) {
	e.t.Helper()
	c := e.command(extraEnv, args...)
	var errOut bytes.Buffer
	c.Stderr = &errOut
	ptmx, err := pty.StartWithSize(c, &pty.Winsize{Cols: cols, Rows: rows})
	if err != nil {
		e.t.Fatalf("pty: %v", err)
	}
	defer ptmx.Close()
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&screen, ptmx) // ends with EIO once the last writer has gone
		close(done)
	}()
	err = c.Wait()
	<-done
	if err != nil {
		e.t.Fatalf("licensectl %v at a terminal: %v\nstdout:\n%s\nstderr:\n%s", args, err, screen.String(), errOut.String())
	}
	return strings.ReplaceAll(screen.String(), "\r\n", "\n"), errOut.String()
}

var ansiSeq = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

func screenLines(s string) []string {
	s = ansiSeq.ReplaceAllString(s, "")
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// A store with a bit of everything, names wide and long included.
func (e *ttyEnv) populate() (keys []string) {
	e.t.Helper()
	for _, args := range [][]string{
		{"init"},
		{"accounts", "create", "ops@example.com"},
		{"companies", "create", "Zürich Dental 東京支社 🦷 Praxisgemeinschaft am See"},
		{"companies", "create", "Globex Corporation International Holdings"},
		{"licenses", "buy", "--product", "backup-ultimate", "--quantity", "2", "--company", "Zürich Dental 東京支社 🦷 Praxisgemeinschaft am See"},
		{"licenses", "buy", "--product", "backup-server", "--quantity", "2", "--company", "Globex Corporation International Holdings"},
		{"licenses", "buy", "--product", "mbs-vm", "--quantity", "1", "--billing", "annual"},
		{"licenses", "buy", "--product", "mbs-desktop", "--quantity", "1", "--billing", "monthly"},
		{"licenses", "buy", "--product", "mbs-server", "--trial"},
		{"maintenance", "buy", "--all", "--yes"},
		{"maintenance", "buy", "--unassigned", "--product", "backup-server", "--quantity", "1"},
		{"accounts", "token", "create"},
	} {
		e.run(nil, append(args, "-q")...)
	}
	csv := e.run(nil, "licenses", "list", "-o", "csv", "--no-headers")
	for _, line := range strings.Split(strings.TrimSpace(csv), "\n") {
		keys = append(keys, strings.SplitN(line, ",", 2)[0])
	}
	e.run(nil, "activations", "activate", keys[0], "--machine", "東京-バックアップ-サーバー-01", "--fingerprint", "fp-tokyo-01",
		"--os", "windows", "--version", "7.9.4", "-q")
	e.run(nil, "activations", "activate", keys[2], "--machine", "globex-fileserver-with-a-long-name", "--fingerprint", "fp-globex",
		"--os", "linux", "--version", "7.9.4", "-q")
	return keys
}

// Every command that prints a table, at 80 columns on a real terminal: no
// line is wider than the window, keys and status words are never cut.
func TestTablesFitAnEightyColumnTerminal(t *testing.T) {
	t.Parallel()
	e := newTTYEnv(t)
	keys := e.populate()
	statuses := regexp.MustCompile(`\b(Not activated|Activated|Active|Expired|Available|Renew|End)\b`)
	yearOn := []string{"LICENSECTL_TEST_NOW=2027-02-20T10:00:00Z"}
	for _, tc := range []struct {
		args   []string
		env    []string
		keys   bool // every license key shows, whole
		status string
	}{
		{args: []string{"licenses", "list"}, keys: true, status: "STATUS"},
		{args: []string{"licenses", "list", "--group"}},
		{args: []string{"products", "list"}},
		{args: []string{"companies", "list"}},
		{args: []string{"accounts", "list"}},
		{args: []string{"accounts", "token", "list"}},
		{args: []string{"maintenance", "list"}, status: "STATUS"},
		{args: []string{"activations", "list"}},
		{args: []string{"audit", "list"}},
		{args: []string{"renewals", "list", "--due-within", "400d"}, status: "ACTION"},
		{args: []string{"renewals", "run", "--yes"}, env: yearOn, status: "ACTION"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut := e.tty(80, 200, tc.env, tc.args...)
			lines := screenLines(out)
			if len(lines) < 2 {
				t.Fatalf("no table:\n%s\nstderr: %s", out, errOut)
			}
			for _, line := range lines {
				if n := displaywidth.String(line); n > 80 {
					t.Errorf("line of %d columns at an 80-column terminal: %q", n, line)
				}
			}
			if tc.keys {
				for _, k := range keys {
					if !strings.Contains(out, k) {
						t.Errorf("key %s missing or cut:\n%s", k, out)
					}
				}
			}
			if tc.status != "" {
				var header string
				rows := 0
				for _, line := range lines {
					if header == "" {
						if strings.Contains(line, tc.status) {
							header = line
						}
						continue
					}
					if line == "" {
						break // the table ends; a summary may follow
					}
					rows++
					if !statuses.MatchString(line) {
						t.Errorf("status cut or missing: %q", line)
					}
				}
				if header == "" || rows == 0 {
					t.Errorf("no %s column or no rows:\n%s", tc.status, out)
				}
			}
			if strings.Contains(out, "not_activated") || strings.Contains(out, "not_a…") {
				t.Errorf("a token or a cut status at a terminal:\n%s", out)
			}
		})
	}
}

// A table longer than the window goes through the pager, at a terminal only:
// not in a pipe, not with --no-pager or a pager turned off, not for a short
// table or JSON. A pager that cannot start leaves the table printed directly.
func TestLongTablesGoThroughThePager(t *testing.T) {
	t.Parallel()
	e := newTTYEnv(t)
	e.run(nil, "init", "-q")
	e.run(nil, "accounts", "create", "ops@example.com", "-q")
	e.run(nil, "licenses", "buy", "--product", "backup-server", "--quantity", "60", "-q")
	key := strings.SplitN(e.run(nil, "licenses", "list", "-o", "csv", "--no-headers", "--limit", "1"), ",", 2)[0]

	dir := t.TempDir()
	marker := filepath.Join(dir, "paged")
	pager := filepath.Join(dir, "fake pager")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> '%s'\ncat\n", marker)
	if err := os.WriteFile(pager, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	quoted := "'" + pager + "'"
	paged := func() string {
		b, err := os.ReadFile(marker)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		os.Remove(marker)
		return string(b)
	}

	// At a terminal of 24 rows, 61 lines page; the pager shows them all.
	out, _ := e.tty(100, 24, []string{"PAGER=" + quoted + " --from-PAGER"}, "licenses", "list")
	if got := paged(); got != "--from-PAGER\n" {
		t.Fatalf("pager not run at a terminal (marker %q):\n%s", got, out)
	}
	if !strings.Contains(out, key) || len(screenLines(out)) != 61 {
		t.Fatalf("paged table shows %d lines, want 61:\n%s", len(screenLines(out)), out)
	}
	// LICENSECTL_PAGER comes before PAGER; so does the config file's pager:.
	e.tty(100, 24, []string{"PAGER=false", "LICENSECTL_PAGER=" + quoted + " --from-env"}, "licenses", "list", "-o", "wide")
	if got := paged(); got != "--from-env\n" {
		t.Fatalf("LICENSECTL_PAGER: marker %q", got)
	}
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("pager: \""+strings.ReplaceAll(quoted, `"`, `\"`)+" --from-config\"\n"), 0o644)
	e.tty(100, 24, []string{"PAGER=false", "LICENSECTL_CONFIG=" + cfg}, "licenses", "list")
	if got := paged(); got != "--from-config\n" {
		t.Fatalf("config pager: marker %q", got)
	}

	// Never: in a pipe, with --no-pager, no-pager or pager: false in the
	// config, LICENSECTL_PAGER=cat, a short table, JSON.
	off := filepath.Join(dir, "off.yaml")
	os.WriteFile(off, []byte("pager: false\n"), 0o644)
	withPager := []string{"PAGER=" + quoted}
	if s := e.run(withPager, "licenses", "list", "-o", "table"); paged() != "" || !strings.Contains(s, key) {
		t.Fatalf("pager ran in a pipe:\n%s", s)
	}
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{withPager, []string{"--no-pager", "licenses", "list"}},
		{append(withPager, "LICENSECTL_NO_PAGER=true"), []string{"licenses", "list"}},
		{append(withPager, "LICENSECTL_CONFIG="+off), []string{"licenses", "list"}},
		{append(withPager, "LICENSECTL_PAGER=cat"), []string{"licenses", "list"}},
		{append(withPager, "LICENSECTL_PAGER="), []string{"licenses", "list"}},
		{withPager, []string{"licenses", "list", "--limit", "5"}},
		{withPager, []string{"licenses", "list", "-o", "json"}},
	} {
		out, _ := e.tty(100, 24, tc.env, tc.args...)
		if got := paged(); got != "" {
			t.Errorf("%v %v: pager ran (%q)", tc.env[1:], tc.args, got)
		}
		if !strings.Contains(out, key) {
			t.Errorf("%v %v: output lacks %s:\n%s", tc.env[1:], tc.args, key, out)
		}
	}

	// A pager that does not exist: the table is printed directly, exit 0.
	out, _ = e.tty(100, 24, []string{"PAGER=" + filepath.Join(dir, "no-such-pager")}, "licenses", "list")
	if len(screenLines(out)) != 61 {
		t.Fatalf("missing pager: %d lines:\n%s", len(screenLines(out)), out)
	}
}
