package cmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// groupAnnotation marks a command group: a command that only holds
// subcommands. Bare, it prints its help; with an argument it answers
// "unknown command" (exit 2) instead of cobra's help and exit 0.
const groupAnnotation = "licensectl/group"

// finishTree readies the whole command tree once, after every command was
// added: each group refuses unknown subcommands, and boolean flags show in
// help as plain --yes. cobra's own help and completion commands and its
// --help/--version flags are made here first, so they are readied too.
func finishTree(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultVersionFlag()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[groupAnnotation] = "true"
			c.Args = unknownSubcommand
			if c.SuggestionsMinimumDistance <= 0 {
				c.SuggestionsMinimumDistance = 2 // what cobra uses for the root
			}
			c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
		}
		if c.Name() == "help" && c.Parent() == root {
			c.Run, c.RunE = nil, helpTopic
		}
		plainBoolFlags(c.Flags())
		plainBoolFlags(c.PersistentFlags())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.SetUsageTemplate(usageTemplate())
}

// isGroup reports whether c only holds subcommands.
func isGroup(c *cobra.Command) bool { return c.Annotations[groupAnnotation] != "" }

// unknownSubcommand is a group's Args: any argument names a subcommand that
// does not exist.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return &unknownCommandError{path: c.CommandPath(), name: args[0], suggestions: c.SuggestionsFor(args[0])}
}

// helpTopic is `licensectl help PATH...`: an unknown topic is an unknown
// command (exit 2), not a usage text and exit 0.
func helpTopic(c *cobra.Command, args []string) error {
	target, rest, err := c.Root().Find(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		if err := unknownSubcommand(target, rest); err != nil {
			return err
		}
	}
	target.InitDefaultHelpFlag()
	return target.Help()
}

// unknownCommandError is an unknown subcommand of a group (or of the root),
// with cobra's suggestions. Execute prints the suggestions on lines of their
// own, after the one-line error.
type unknownCommandError struct {
	path, name  string
	suggestions []string
}

func (e *unknownCommandError) Error() string {
	return fmt.Sprintf("unknown command %q for %q", licensing.ClipArg(e.name), e.path)
}

func (e *unknownCommandError) ExitCode() int { return ExitUsage }

// writeDetails prints the suggestions and the hint of an unknown command.
func (e *unknownCommandError) writeDetails(w io.Writer) {
	if len(e.suggestions) > 0 {
		fmt.Fprint(w, "\nDid you mean this?\n")
		for _, s := range e.suggestions {
			fmt.Fprintf(w, "\t%s\n", s)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "hint: run `%s --help` for usage\n", e.path)
}

// plainBool hides pflag's IsBoolFlag from the help: pflag prints such flags
// as "--yes[=true|false]". NoOptDefVal ("true", set when the flag was
// defined) still lets --yes stand alone, and Type stays "bool" for GetBool
// and viper.
type plainBool struct{ pflag.Value }

func plainBoolFlags(fs *pflag.FlagSet) {
	fs.VisitAll(func(fl *pflag.Flag) {
		if _, done := fl.Value.(plainBool); !done && fl.Value.Type() == "bool" && fl.NoOptDefVal == "true" {
			fl.Value = plainBool{fl.Value}
		}
	})
}

// usageTemplate is cobra's, except that a group shows only
// "licensectl GROUP [command]" (it runs, but only to print this help).
func usageTemplate() string {
	return strings.Replace((&cobra.Command{}).UsageTemplate(), "{{if .Runnable}}",
		`{{if and .Runnable (not (index .Annotations "`+groupAnnotation+`"))}}`, 1)
}

// usageErrorHint is the hint of a usage error without one of its own.
func usageErrorHint(path string) string {
	return fmt.Sprintf("run `%s --help` for usage", strings.TrimSpace(path))
}
