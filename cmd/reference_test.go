package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The generated references in docs/ match the code.
func TestReferencesUpToDate(t *testing.T) {
	root := NewRootCmd(&Factory{IO: &IOStreams{}})
	for file, want := range map[string]string{
		"json-fields.md":             jsonReference(),
		"configuration-reference.md": configReference(root),
	} {
		got, err := os.ReadFile(filepath.Join("..", "docs", file))
		if err != nil || string(got) != want {
			t.Errorf("docs/%s is out of date (%v); regenerate with: go run . docs json docs/json-fields.md && go run . docs config docs/configuration-reference.md", file, err)
		}
	}
	ref := configReference(root)
	for key := range configKeys() {
		if !strings.Contains(ref, "`"+key+"`") || !strings.Contains(ref, envName(key)) {
			t.Errorf("config key %s missing from the reference", key)
		}
	}
	for _, field := range []string{"`key`", "`maintenance_till`", "`seats_used`", "`purchase_id`", "`total_cents`", "`idempotency_key`", "`license_key`"} {
		if !strings.Contains(jsonReference(), field) {
			t.Errorf("JSON reference lacks %s", field)
		}
	}
}

// Every command a user runs shows examples in its help.
func TestEveryCommandHasExamples(t *testing.T) {
	root := NewRootCmd(&Factory{IO: &IOStreams{}})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !isGroup(c) && !c.Hidden && c.Name() != "help" && !strings.HasPrefix(c.CommandPath(), "licensectl completion") && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
