package main

import (
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/licensectl/licensectl/internal/postgres/pgtest"
)

// scriptT keys the script's testscript.T in Env.Values.
type scriptT struct{}

// pgSchemaCmd runs `pgschema NAME`: it sets $NAME to a postgres:// URL whose
// search_path names a fresh schema (which `licensectl init` creates) and drops
// that schema when the script ends. Without a PostgreSQL server (pgtest.Main
// said so, and what to install, once) the script skips; under CI it never
// gets here, the run fails first.
func pgSchemaCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgschema NAME")
	}
	if pgtest.Skipped() {
		if t, ok := ts.Value(scriptT{}).(testscript.T); ok {
			t.Skip("no PostgreSQL for the tests: " + pgtest.Install)
		}
		ts.Fatalf("no PostgreSQL for the tests: %s", pgtest.Install)
	}
	_, url, drop := pgtest.NewSchema("lct_script")
	ts.Defer(func() {
		if err := drop(); err != nil {
			ts.Logf("drop schema: %v", err)
		}
	})
	ts.Setenv(args[0], url)
}
