package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const regenerateDocs = "rm -rf docs/commands && go run . docs markdown docs/commands"

// TestCommandReferenceUpToDate regenerates the markdown reference and fails
// when the committed docs/commands/ differs: a flag or command changed
// without its documentation.
func TestCommandReferenceUpToDate(t *testing.T) {
	tmp := t.TempDir()
	io, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io, "docs", "markdown", tmp); code != 0 {
		t.Fatalf("docs markdown: exit %d: %s", code, errOut)
	}
	committed := filepath.Join("..", "docs", "commands")
	want := readDir(t, tmp)
	got := readDir(t, committed)
	for name, body := range want {
		old, ok := got[name]
		switch {
		case !ok:
			t.Errorf("docs/commands/%s is missing", name)
		case old != body:
			t.Errorf("docs/commands/%s is out of date", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/commands/%s documents a command that no longer exists", name)
		}
	}
	if t.Failed() {
		t.Logf("regenerate the reference with: %s", regenerateDocs)
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func TestManPagesBuild(t *testing.T) {
	tmp := t.TempDir()
	io, _, _, errOut := TestIO()
	if code := run(t, context.Background(), io, "docs", "man", tmp); code != 0 {
		t.Fatalf("docs man: exit %d: %s", code, errOut)
	}
	for _, name := range []string{"licensectl.1", "licensectl-licenses-buy.1", "licensectl-completion-bash.1"} {
		if _, err := os.Stat(filepath.Join(tmp, name)); err != nil {
			t.Errorf("man page %s: %v", name, err)
		}
	}
}

// TestGettingStarted runs every command of docs/getting-started.md's ```sh
// blocks, in order, on a fresh store: the guide a new user follows works.
func TestGettingStarted(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("LICENSECTL_ACCOUNT", "")
	t.Setenv("CI", "")
	b, err := os.ReadFile(filepath.Join("..", "docs", "getting-started.md"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range shellLines(string(b)) {
		words := shellWords(t, line, vars)
		switch {
		case len(words) == 2 && words[0] == "export":
			name, value, _ := strings.Cut(words[1], "=")
			t.Setenv(name, value)
			vars[name] = value
		case len(words) > 1 && strings.HasSuffix(words[0], "=$(licensectl"):
			// NAME=$(licensectl ...): the output of the command becomes $NAME.
			inner := strings.TrimSuffix(strings.TrimPrefix(line[strings.Index(line, "$(")+2:], "licensectl"), ")")
			out := runDocLine(t, line, shellWords(t, "licensectl"+inner, vars)[1:])
			vars[strings.TrimSuffix(words[0], "=$(licensectl")] = strings.TrimSpace(out)
		case len(words) > 0 && words[0] == "licensectl":
			runDocLine(t, line, words[1:])
		default:
			t.Fatalf("getting-started.md: cannot run %q", line)
		}
	}
}

func runDocLine(t *testing.T, line string, args []string) string {
	t.Helper()
	io, _, out, errOut := TestIO()
	if code := run(t, context.Background(), io, args...); code != 0 {
		t.Fatalf("%s\nexit %d: %s", line, code, errOut)
	}
	t.Logf("$ licensectl %q\n%s", args, out)
	return out.String()
}

// shellLines returns the lines of ```sh blocks, comments and continuations
// resolved.
func shellLines(md string) []string {
	var lines []string
	in := false
	pending := ""
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
			continue
		case strings.HasPrefix(l, "```"):
			in = false
			continue
		}
		if !in {
			continue
		}
		if i := strings.Index(l, "  #"); i >= 0 {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if strings.HasSuffix(l, `\`) {
			pending += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		if l = pending + l; l != "" {
			lines = append(lines, l)
		}
		pending = ""
	}
	return lines
}

// shellWords splits a line as sh would for the quoting the guide uses:
// single quotes are literal, $NAME expands outside them.
func shellWords(t *testing.T, line string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'' && c != '\'', quote == '"' && c != '"' && c != '$':
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			if quote == 0 {
				quote, inWord = c, true
			} else {
				quote = 0
			}
		case c == '$' && i+1 < len(line) && line[i+1] != '(':
			j := i + 1
			for j < len(line) && (line[j] == '_' || line[j] >= 'A' && line[j] <= 'Z') {
				j++
			}
			v, ok := vars[line[i+1:j]]
			if !ok {
				t.Fatalf("%q: $%s is not set", line, line[i+1:j])
			}
			cur.WriteString(v)
			inWord, i = true, j-1
		case c == ' ' && quote == 0:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
