// Package migration reads a store's numbered schema migrations
// (NNNN_what.sql) from an embedded file system, in order and without gaps,
// so a store's version says exactly which of them it has. Each store applies
// them its own way (SQLite and PostgreSQL lock differently).
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load returns the migrations matching pattern in fsys, ordered by number.
func Load(fsys fs.FS, pattern string) ([]Migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", base)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(text)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.Name, i+1)
		}
	}
	return out, nil
}

// Topic is a migration's name without its number and extension
// ("0006_unicode_names.sql" is "unicode_names"): what a store keys the Go
// part of a migration by, so that renumbering a file keeps its step.
func Topic(name string) string {
	_, topic, _ := strings.Cut(path.Base(name), "_")
	return strings.TrimSuffix(topic, ".sql")
}
