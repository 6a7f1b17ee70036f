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
