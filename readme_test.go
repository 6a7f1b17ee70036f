package main

import (
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// readmeCmd runs `readme FILE`: it writes the README's first quick-start
// command (the first ```sh block under "## Quick start") into FILE as a
// shell script, with `go run .` as `licensectl`, so quickstart.txtar runs
// exactly what a new user copies and the two cannot drift.
func readmeCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: readme FILE")
	}
	b, err := os.ReadFile("README.md") // the test runs in the repository's root
	ts.Check(err)
	_, rest, ok := strings.Cut(string(b), "\n## Quick start\n")
	if !ok {
		ts.Fatalf("README.md has no \"## Quick start\" section")
	}
	_, rest, ok = strings.Cut(rest, "\n```sh\n")
	if !ok {
		ts.Fatalf("README.md: no ```sh block under Quick start")
	}
	block, _, ok := strings.Cut(rest, "\n```")
	if !ok || strings.TrimSpace(block) == "" {
		ts.Fatalf("README.md: the quick start's ```sh block is not closed or empty")
	}
	if !strings.Contains(block, "go run . ") {
		ts.Fatalf("README.md: the quick start does not use `go run .`: %q", block)
	}
	script := "set -e\n" + strings.ReplaceAll(block, "go run . ", "licensectl ") + "\n"
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(script), 0o644))
}
