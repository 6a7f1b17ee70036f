package cmd

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/licensectl/licensectl/internal/licensing"
)

// newDocsCmd generates man pages and the markdown command reference from the
// command tree itself, so they cannot drift from the flags. Hidden: it is for
// packagers (goreleaser's before hook) and for docs/commands/, not for users.
func newDocsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "docs", Short: "Generate man pages and the markdown command reference", Hidden: true}
	cmd.AddCommand(&cobra.Command{
		Use:     "man DIR",
		Short:   "Write a man page per command (section 1) into DIR",
		Example: "  licensectl docs man ./man",
		Args:    exactArgs(1, "a directory"),
		RunE: func(c *cobra.Command, args []string) error {
			root, err := docTree(c, args[0])
			if err != nil {
				return err
			}
			return doc.GenManTree(root, &doc.GenManHeader{Title: "LICENSECTL", Section: "1", Source: "licensectl", Manual: "licensectl manual"}, args[0])
		},
	}, &cobra.Command{
		Use:     "markdown DIR",
		Short:   "Write the markdown command reference into DIR",
		Example: "  licensectl docs markdown docs/commands",
		Args:    exactArgs(1, "a directory"),
		RunE: func(c *cobra.Command, args []string) error {
			root, err := docTree(c, args[0])
			if err != nil {
				return err
			}
			return doc.GenMarkdownTree(root, args[0])
		},
	}, &cobra.Command{
		Use:     "json FILE",
		Short:   "Write the JSON field reference into FILE",
		Example: "  licensectl docs json docs/json-fields.md",
		Args:    exactArgs(1, "a file"),
		RunE: func(c *cobra.Command, args []string) error {
			return writeFileAtomic(args[0], []byte(jsonReference()), 0o644)
		},
	}, &cobra.Command{
		Use:     "config FILE",
		Short:   "Write the configuration reference (every key, flag and variable) into FILE",
		Example: "  licensectl docs config docs/configuration-reference.md",
		Args:    exactArgs(1, "a file"),
		RunE: func(c *cobra.Command, args []string) error {
			return writeFileAtomic(args[0], []byte(configReference(c.Root())), 0o644)
		},
	})
	return cmd
}

// docTree makes dir and readies the tree: without the "Auto generated ... on
// DATE" footer, a regenerated reference equals the committed one.
func docTree(c *cobra.Command, dir string) (*cobra.Command, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "cannot create %s: %v", dir, unwrapPathError(err))
	}
	root := c.Root()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		if isGroup(c) { // a group runs only to print its help: no usage line of its own
			c.RunE = nil
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root, nil
}
