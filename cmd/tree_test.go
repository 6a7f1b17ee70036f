package cmd

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandTree lists every command of a fresh tree, cobra's help and
// completion commands included, root first.
func commandTree(t *testing.T) []*cobra.Command {
	t.Helper()
	io, _, _, _ := TestIO()
	root := NewRootCmd(&Factory{IO: io})
	var all []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		all = append(all, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return all
}

// args is a command's path without the root's name.
func pathArgs(c *cobra.Command) []string {
	return strings.Fields(c.CommandPath())[1:]
}

// Every group, at every depth, answers an unknown subcommand like the top
// level does: one error line naming the group, suggestions on lines of their
// own, a hint, exit 2 — and nothing on stdout. Bare, it prints its help.
func TestEveryGroupRefusesUnknownSubcommands(t *testing.T) {
	groups := 0
	for _, c := range commandTree(t) {
		if !c.HasAvailableSubCommands() && !(c.HasSubCommands() && c.Hidden) {
			continue
		}
		groups++
		path := c.CommandPath()
		args := pathArgs(c)

		io, _, out, errOut := TestIO()
		code := run(t, context.Background(), io, append(args, "rebate", "X")...)
		wantErr := `error: unknown command "rebate" for "` + path + `"` + "\n"
		wantHint := "hint: run `" + path + " --help` for usage\n"
		if code != ExitUsage || !strings.HasPrefix(errOut.String(), wantErr) || !strings.HasSuffix(errOut.String(), wantHint) || out.Len() != 0 {
			t.Errorf("%s rebate X: exit %d, stdout %q, stderr %q; want exit 2 and %q ... %q", path, code, out, errOut, wantErr, wantHint)
		}

		// A subcommand with one letter swapped is suggested, on its own line.
		sub := c.Commands()[0]
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() && len(s.Name()) >= 3 {
				sub = s
				break
			}
		}
		name := sub.Name()
		typo := swapFirstDifferentPair(name)
		io, _, out, errOut = TestIO()
		code = run(t, context.Background(), io, append(args, typo)...)
		if want := "\nDid you mean this?\n\t" + name + "\n"; code != ExitUsage || !strings.Contains(errOut.String(), want) || out.Len() != 0 {
			t.Errorf("%s %s: exit %d, stderr %q; want exit 2 and %q", path, typo, code, errOut, want)
		}

		// Flags of the subcommand that was meant do not hide the typo.
		io, _, _, errOut = TestIO()
		code = run(t, context.Background(), io, append(args, "rebate", "--all", "--yes")...)
		if code != ExitUsage || !strings.HasPrefix(errOut.String(), wantErr) {
			t.Errorf("%s rebate --all --yes: exit %d, stderr %q; want %q", path, code, errOut, wantErr)
		}

		// Bare: its help on stdout, exit 0.
		io, _, out, errOut = TestIO()
		if code := run(t, context.Background(), io, args...); code != 0 || !strings.Contains(out.String(), "Available Commands:") ||
			strings.Contains(out.String(), path+" [flags]") || errOut.Len() != 0 {
			t.Errorf("bare %q: exit %d, stderr %q, stdout %q; want its help and exit 0", path, code, errOut, out)
		}
	}
	if groups < 12 {
		t.Errorf("walked %d groups; the tree has more", groups)
	}
}

// Help shows boolean flags as plain --yes, and every value placeholder is a
// type name or an upper-case word (pflag takes a back-quoted word of the
// usage as the placeholder: "see `products list`" printed --product products list).
func TestHelpShowsFlagsPlainly(t *testing.T) {
	placeholder := regexp.MustCompile(`^([A-Z][A-Z0-9_]*([|.:-][A-Z0-9_]+)*|string|int|float|duration|strings|stringArray|uint|int64)$`)
	for _, c := range commandTree(t) {
		usage := c.UsageString()
		if strings.Contains(usage, "[=true|false]") || strings.Contains(usage, "[=true]") {
			t.Errorf("%s --help shows a boolean flag with a value:\n%s", c.CommandPath(), usage)
		}
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(fl)
			if fl.Value.Type() == "bool" {
				if name != "" {
					t.Errorf("%s --%s: boolean flag shows a value %q", c.CommandPath(), fl.Name, name)
				}
				return
			}
			if !placeholder.MatchString(name) {
				t.Errorf("%s --%s: placeholder %q (usage %q)", c.CommandPath(), fl.Name, name, fl.Usage)
			}
		})
	}
}

// swapFirstDifferentPair makes a typo: "attach" -> "atatch", "buy" -> "byu".
func swapFirstDifferentPair(s string) string {
	b := []byte(s)
	for i := 1; i+1 < len(b); i++ {
		if b[i] != b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b)
		}
	}
	if len(b) > 1 { // "add": no pair past the first letter differs
		b[0], b[1] = b[1], b[0]
	}
	return string(b)
}
