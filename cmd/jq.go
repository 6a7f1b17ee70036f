package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// jqFilter holds back a command's stdout and runs the --jq expression over
// it when the command ends. Doing it here, once, gives every command that
// prints JSON the flag for free.
type jqFilter struct {
	query   *output.Query
	out     io.Writer // the real stdout
	buf     bytes.Buffer
	command string
}

// startJQ compiles --jq, makes JSON the output format and diverts stdout.
func (f *Factory) startJQ(c *cobra.Command) error {
	fl := c.Flags().Lookup("jq")
	if fl == nil || !fl.Changed {
		return nil
	}
	q, err := output.ParseQuery(fl.Value.String())
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "%s", oneLine(err)).
			WithHint("see https://jqlang.org/manual/ for the syntax, e.g. --jq '.[].key'")
	}
	if changed(c.Flags(), "output") && f.cfg.Output != string(output.JSON) {
		return licensing.Errorf(licensing.EINVALID, "--jq filters JSON output; it cannot be combined with -o %s", f.cfg.Output)
	}
	f.cfg.Output = string(output.JSON)
	f.jq = &jqFilter{query: q, out: f.IO.Out, command: c.CommandPath()}
	f.IO.Out = &f.jq.buf
	return nil
}

// finishJQ filters what the command printed. A command that failed after
// printing (validate prints its verdict, then exits non-zero) still shows
// its filtered output, and its own error wins over a filter error.
func (f *Factory) finishJQ(ctx context.Context, cmdErr error) error {
	if f.jq == nil {
		return cmdErr
	}
	f.IO.Out = f.jq.out
	err := f.jq.query.Run(ctx, f.jq.out, &f.jq.buf)
	if err == nil || cmdErr != nil {
		return cmdErr
	}
	if errors.Is(err, output.ErrNotJSON) {
		return licensing.Errorf(licensing.EINVALID, "--jq: `%s` does not print JSON", f.jq.command)
	}
	return licensing.Errorf(licensing.EINVALID, "%s", oneLine(err))
}
