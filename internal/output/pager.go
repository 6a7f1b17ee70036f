package output

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Show writes text, a table for the person at the terminal, through the
// pager when it is longer than the window (as gh does), else directly. When
// the pager cannot start, the text is written directly.
func (t *Terminal) Show(text []byte) error {
	if t.Pager == "" || t.Height <= 0 || screenRows(text, t.Width) < t.Height {
		_, err := t.Writer.Write(text)
		return err
	}
	if ok := t.page(text); ok {
		return nil
	}
	_, err := t.Writer.Write(text)
	return err
}

// screenRows is how many rows text takes on a terminal width columns wide
// (long lines wrap).
func screenRows(text []byte, width int) int {
	rows := 0
	for line := range bytes.Lines(text) {
		n := displayWidth(stripANSI(strings.TrimRight(string(line), "\n")))
		if width > 0 && n > width {
			rows += (n + width - 1) / width
		} else {
			rows++
		}
	}
	return rows
}

// page runs the pager with text on its standard input and the terminal as its
// output, and waits for it. false: it could not start, nothing was shown.
func (t *Terminal) page(text []byte) bool {
	argv := SplitCommand(t.Pager)
	if len(argv) == 0 {
		return false
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return false
	}
	c := exec.Command(path, argv[1:]...)
	c.Stdout, c.Stderr = t.Writer, t.Stderr
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	// less and lv show colour and quit at once on a short text, as gh sets
	// them, unless the user chose otherwise.
	c.Env = os.Environ()
	for _, kv := range []string{"LESS=FRX", "LV=-c"} {
		if _, set := os.LookupEnv(strings.SplitN(kv, "=", 2)[0]); !set {
			c.Env = append(c.Env, kv)
		}
	}
	in, err := c.StdinPipe()
	if err != nil {
		return false
	}
	if err := c.Start(); err != nil {
		return false
	}
	_, err = in.Write(text)
	in.Close()
	c.Wait() // the pager's own exit status is the person's business (q in less)
	// A pager quit before reading everything: the person has seen enough.
	return err == nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}

// SplitCommand splits a command line as a POSIX shell would, for the simple
// cases a pager setting holds: words separated by blanks, single and double
// quotes, backslash escapes. No variables, globs or redirections.
func SplitCommand(s string) []string {
	var words []string
	var b strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			b.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, b.String())
	}
	return words
}

// stripANSI removes SGR colour sequences (all a table writes).
func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
