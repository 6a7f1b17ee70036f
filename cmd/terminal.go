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
// output.Terminal, so lists show relative dates, status colours and fit the
// window. Tables in a pipe (and the golden tests) stay plain and exact.
func (f *Factory) startOutput(c *cobra.Command) error {
	if err := f.startJQ(c); err != nil {
		return err
	}
	if !f.IO.StdoutTTY {
		return nil
	}
	format, err := f.Format()
	if err != nil || !format.IsTable() {
		return nil // the command reports a bad -o itself
	}
	f.IO.Out = &output.Terminal{
		Writer: f.IO.Out,
		Color:  !f.cfg.NoColor && os.Getenv("TERM") != "dumb",
		Width:  terminalWidth(f.IO.Out),
		Now:    f.Clock.Now(),
	}
	return nil
}

// terminalWidth asks the terminal, then $COLUMNS; 0 means unknown.
func terminalWidth(w any) int {
	if file, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(file.Fd())); err == nil && width > 0 {
			return width
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
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
