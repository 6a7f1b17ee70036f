package cmd

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// startOutput sets up stdout for this invocation, once, for every command:
// --jq diverts it through a filter; a table at a terminal gets an
// output.Terminal, so lists show relative dates, status colours, fit the
// window and page when longer than it. Tables in a pipe (and the golden
// tests) stay plain and exact, only fitted to $COLUMNS when it is set.
func (f *Factory) startOutput(c *cobra.Command) error {
	if err := f.startJQ(c); err != nil {
		return err
	}
	format, err := f.Format()
	if err != nil || !format.IsTable() {
		return nil // the command reports a bad -o itself
	}
	if !f.IO.StdoutTTY {
		// -o table in a pipe: plain, but fitted to $COLUMNS when set.
		if width, _ := terminalSize(nil); width > 0 {
			f.IO.Out = &output.Terminal{Writer: f.IO.Out, Width: width}
		}
		return nil
	}
	width, height := terminalSize(f.IO.Out)
	f.IO.Out = &output.Terminal{
		Writer: f.IO.Out,
		Color:  !f.cfg.NoColor && os.Getenv("TERM") != "dumb",
		Width:  width,
		Height: height,
		Now:    f.Clock.Now(),
		Pager:  f.cfg.Pager,
		Stderr: f.IO.ErrOut,
	}
	return nil
}

// terminalSize is the window's columns and rows: $COLUMNS and $LINES when
// set (tests, `COLUMNS=100 licensectl ... -o table | less`), else what the
// terminal says; 0 means unknown.
func terminalSize(w any) (width, height int) {
	if file, ok := w.(*os.File); ok {
		width, height, _ = term.GetSize(int(file.Fd()))
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		width = n
	}
	if n, err := strconv.Atoi(os.Getenv("LINES")); err == nil && n > 0 {
		height = n
	}
	return max(width, 0), max(height, 0)
}

// confirm asks question (without "[y/N]") on stderr and reads the answer
// from stdin; it returns nil only for a yes, or at once with --yes. Every
// command that asks first asks through it, so the answers mean the same
// everywhere:
//   - no terminal on stdin: nobody can be asked; what is printed as
//     "WHAT: confirm with --yes" (exit 2), with hint;
//   - no answer at all (end of input): exit 2;
//   - anything but y/yes: exit 1, "nothing was done".
func (f *Factory) confirm(what, question, hint string) error {
	if f.cfg.Yes {
		return nil
	}
	if !f.IO.StdinTTY {
		return licensing.Errorf(licensing.EINVALID, "%s: confirm with --yes (stdin is not a terminal, so nobody can be asked)", what).
			WithHint("%s", hint)
	}
	fmt.Fprintf(f.IO.ErrOut, "%s [y/N] ", question)
	answer, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && answer == "" {
		fmt.Fprintln(f.IO.ErrOut)
		return licensing.Errorf(licensing.EINVALID, "no answer: nothing was done")
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return &exitError{err: licensing.Errorf(licensing.EINVALID, "not confirmed: nothing was done"), code: ExitFailure}
}
