package cmd

import (
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/licensectl/licensectl/internal/output"
)

// newList starts a list that is a command's whole output: headers as
// configured; at a terminal, a table longer than the window goes through the
// pager; a table with no rows prints the empty note on stderr (unless
// --quiet) instead of a lone header.
func newList[T any](e env, format output.Format, cols []output.Column[T], empty string) *output.List[T] {
	l := &output.List[T]{Format: format, Columns: cols, NoHeaders: e.Config().NoHeaders, Empty: empty, Page: true}
	if !e.quiet() {
		l.Notes = e.IO.ErrOut
	}
	return l
}

// writeSlice writes a slice in the chosen format; empty is the note for no
// rows.
func writeSlice[T any](e env, format output.Format, cols []output.Column[T], items []T, empty string) error {
	return writeList(newList(e, format, cols, empty), e, items)
}

func writeList[T any](l *output.List[T], e env, items []T) error {
	if err := l.Begin(e.IO.Out); err != nil {
		return err
	}
	for _, it := range items {
		if err := l.Add(it); err != nil {
			return err
		}
	}
	return l.End()
}

// filtered reports whether any of the command's own flags other than except
// was set: a list that finds nothing says "match these filters" then.
func filtered(c *cobra.Command, except ...string) bool {
	set := false
	c.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if fl.Changed && !slices.Contains(except, fl.Name) {
			set = true
		}
	})
	return set
}
