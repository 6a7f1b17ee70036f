package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// The commands that work on the store itself: what their flags make of the
// arguments, and what they refuse before touching anything.

func TestLocalCommandFlags(t *testing.T) {
	wantUsageError(t, newInitCmd, "unexpected argument", "extra")
	wantUsageError(t, newVersionCmd, "unexpected argument", "extra")
	mustParse(t, newInitCmd)
	mustParse(t, newVersionCmd)

	b := mustParse(t, newBackupCmd, "nightly.db", "--force")
	if b.File != "nightly.db" || !b.Force {
		t.Errorf("backup: %+v", b)
	}
	if b := mustParse(t, newBackupCmd, "nightly.db"); b.Force {
		t.Errorf("backup without --force: %+v", b)
	}
	wantUsageError(t, newBackupCmd, "a backup file")
	wantUsageError(t, newBackupCmd, "a backup file", "a.db", "b.db")
	if r := mustParse(t, newRestoreCmd, "nightly.db"); r.File != "nightly.db" {
		t.Errorf("restore: %+v", r)
	}
	wantUsageError(t, newRestoreCmd, "a backup file")

	if m := mustParse(t, newMigrateCmd); m.From != "" || m.To != "" {
		t.Errorf("migrate in place: %+v", m)
	}
	m := mustParse(t, newMigrateCmd, "--from", "sqlite:./a.db", "--to", "postgres://u@h/db")
	if m.From != "./a.db" || m.To != "postgres://u@h/db" {
		t.Errorf("migrate copy: %+v", m)
	}
	wantUsageError(t, newMigrateCmd, "--from must be sqlite:PATH", "--from", "./a.db", "--to", "postgres://u@h/db")
	wantUsageError(t, newMigrateCmd, "--from must be sqlite:PATH", "--from", "sqlite:", "--to", "postgres://u@h/db")
	wantUsageError(t, newMigrateCmd, "--from must be sqlite:PATH", "--to", "postgres://u@h/db")
	wantUsageError(t, newMigrateCmd, "--to must be a postgres://", "--from", "sqlite:a.db", "--to", "mysql://h/db")
}

// A local-store command refuses the http backend, and backup/restore a
// PostgreSQL store, before opening anything.
func TestLocalCommandsRefuseOtherBackends(t *testing.T) {
	opened := false
	local := func(cfg Config) localOptions {
		e, _, _, _ := testEnv(nil, cfg)
		return localOptions{env: e, OpenStore: func(context.Context, bool) (localStore, error) {
			opened = true
			return localStore{}, nil
		}}
	}
	httpCfg := Config{Backend: "http", DB: filepath.Join(t.TempDir(), "s.db")}
	pgCfg := Config{Backend: "local", DB: "postgres://u@127.0.0.1/db"}
	for name, err := range map[string]error{
		"init over http":    initRun(context.Background(), &initOptions{local(httpCfg)}),
		"migrate over http": migrateInPlace(context.Background(), &migrateOptions{localOptions: local(httpCfg)}),
		"backup over http":  backupRun(context.Background(), &backupOptions{localOptions: local(httpCfg), File: "x.db"}),
		"backup of pg":      backupRun(context.Background(), &backupOptions{localOptions: local(pgCfg), File: "x.db"}),
		"restore of pg":     restoreRun(context.Background(), &restoreOptions{localOptions: local(pgCfg), File: "x.db"}),
		"restore over http": restoreRun(context.Background(), &restoreOptions{localOptions: local(httpCfg), File: "x.db"}),
	} {
		if err == nil || exitCode(err, true) != ExitUsage {
			t.Errorf("%s: %v (exit %d), want a usage error", name, err, exitCode(err, true))
		}
	}
	if opened {
		t.Error("a refused command opened the store")
	}
}

// init over a real SQLite file: the store is made and seeded, and a second
// run adds nothing; the JSON result says so.
func TestInitRunSeedsOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	run := func() initResult {
		t.Helper()
		e, _, out, _ := testEnv(nil, Config{Backend: "local", DB: db, Output: "json"})
		o := &initOptions{localOptions{env: e, OpenStore: func(ctx context.Context, create bool) (localStore, error) {
			h, err := sqlite.Open(ctx, db, sqlite.Options{Create: create, Clock: e.Clock})
			if err != nil {
				return localStore{}, err
			}
			return localStore{App: app.New(h, app.Options{Clock: e.Clock}), h: h}, nil
		}}}
		if err := initRun(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		var res initResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return res
	}
	first := run()
	if first.ProductsAdded == 0 || first.SchemaVersion == 0 || first.Path == "" {
		t.Errorf("first init: %+v", first)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
	if again := run(); again.ProductsAdded != 0 || again.SchemaVersion != first.SchemaVersion {
		t.Errorf("second init: %+v, first %+v", again, first)
	}
}

func TestVersionRun(t *testing.T) {
	e, _, out, _ := testEnv(nil, Config{Output: "table"})
	if err := versionRun(&versionOptions{env: e, Build: BuildInfo{Version: "1.2.3", Commit: "abc1234", Date: "2026-12-03"}}); err != nil {
		t.Fatal(err)
	}
	want := "licensectl 1.2.3 (commit abc1234, built 2026-12-03, " + runtime.Version() + ")\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out, want)
	}
	e, _, out, _ = testEnv(nil, Config{Output: "json"})
	if err := versionRun(&versionOptions{env: e, Build: BuildInfo{Version: "1.2.3"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"version": "1.2.3"`) && !strings.Contains(out.String(), `"version":"1.2.3"`) {
		t.Errorf("json: %s", out)
	}
}
