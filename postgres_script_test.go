package main

import (
	"context"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/licensectl/licensectl/internal/postgres/pgtest"
)

// pgSchemaCmd runs `pgschema NAME`: it sets $NAME to a postgres:// URL whose
// search_path names a fresh schema (which `licensectl init` creates) and drops
// that schema when the script ends. A server that is down is started, or the
// script fails: it never silently skips.
func pgSchemaCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgschema NAME")
	}
	if err := pgtest.Ensure(context.Background()); err != nil {
		ts.Fatalf("%v", err)
	}
	_, url, drop := pgtest.NewSchema("lct_script")
	ts.Defer(func() {
		if err := drop(); err != nil {
			ts.Logf("drop schema: %v", err)
		}
	})
	ts.Setenv(args[0], url)
}
