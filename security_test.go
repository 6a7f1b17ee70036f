package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// wantMode fails unless path exists with exactly the permission bits perm.
func wantMode(t *testing.T, path string, perm fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != perm {
		t.Errorf("%s: mode %04o, want %04o", filepath.Base(path), got, perm)
	}
}

// Everything licensectl writes that holds licenses or secrets is readable by
// its owner only: the store (and its WAL and shared-memory files), backups,
// and the config file login writes the token into. The umask is cleared for
// the test, so a file that relied on it would show up as world-readable.
func TestFilesWrittenAreOwnerOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := t.TempDir()
	// The default store: init makes only the default data directory (0700).
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	db := filepath.Join(dir, "data", "licensectl", "licensectl.db")
	mustRun(t, db, "init", "-q")
	wantMode(t, db, 0o600)
	wantMode(t, filepath.Dir(db), 0o700)
	mustRun(t, db, "accounts", "create", "ops@example.com", "-q")
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", "2", "-q")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(mustRun(t, db, "accounts", "token", "create", "-o", "json")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %v", err)
	}

	// While a server holds the store open, its WAL and shm files exist.
	base, stop := startServe(t, db)
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", "1", "-q")
	for _, side := range []string{"-wal", "-shm"} {
		wantMode(t, db+side, 0o600)
	}
	// The token is stored only as a hash: its secret part is nowhere in
	// the store's files.
	secret := tok.Token[strings.LastIndex(tok.Token, "_")+1:]
	for _, f := range []string{db, db + "-wal"} {
		b, _ := os.ReadFile(f)
		if len(secret) < 16 || bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the token's secret %q", filepath.Base(f), secret)
		}
	}

	backup := filepath.Join(dir, "backup.db")
	mustRun(t, db, "backup", backup, "-q")
	wantMode(t, backup, 0o600)
	// Overwriting a world-readable file leaves an owner-only one.
	os.Chmod(backup, 0o644)
	mustRun(t, db, "backup", backup, "--force", "-q")
	wantMode(t, backup, 0o600)

	// login writes the token into a new config file (and directory), and
	// tightens an existing world-readable one.
	config := filepath.Join(dir, "config", "licensectl", "config.yaml")
	login := func() {
		t.Helper()
		cmd := exec.Command("licensectl", "login", "--api-url", base, "--with-token")
		cmd.Env = append(os.Environ(), "CI=1", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "LICENSECTL_CONFIG=")
		cmd.Stdin = strings.NewReader(tok.Token + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("login: %v %s", err, out)
		}
	}
	login()
	wantMode(t, config, 0o600)
	wantMode(t, filepath.Dir(config), 0o700)
	os.Chmod(config, 0o644)
	login()
	wantMode(t, config, 0o600)
	stop()

	// A restored store is owner-only too, whatever the backup's mode.
	os.Chmod(backup, 0o644)
	mustRun(t, db, "restore", backup, "--yes", "-q")
	wantMode(t, db, 0o600)
}
