package cmd

import (
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"

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
