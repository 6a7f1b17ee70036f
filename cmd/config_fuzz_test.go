package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// FuzzLoadConfig feeds arbitrary bytes to the config file loader as the file
// named by --config. It never panics; a file it refuses is a usage error
// (exit 2) with a message; a file it takes yields a valid backend.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		"",
		"backend: local\ndb: /var/lib/licensectl/licensectl.db\naccount: ops@example.com\noutput: json\n",
		"backend: http\napi:\n  url: https://licenses.example.com\n  token: lct_abc\n",
		"serve:\n  addr: 127.0.0.1:8080\n  rate: 2.5\n  tls-cert: c.pem\n  tls-key: k.pem\n",
		"mail:\n  smtp:\n    host: 127.0.0.1\n    port: 2525\n    username: u\n    password: p\n  from: a@example.com\n  outbox: /tmp/outbox\n",
		"quiet: maybe\n",
		"backend: ftp\n",
		"mail:\n  smtp:\n    port: 99999\n",
		"no-color: [1, 2]\nyes: {a: b}\n",
		"db: &a [*a]\n",
		"a: !!binary gIGC\n",
		"\t- not yaml\n: :",
		"backend: local\nbackend: http\n",
		"key: \"\\u0000\"\n",
	} {
		f.Add([]byte(seed))
	}
	for _, env := range os.Environ() {
		if name, _, _ := strings.Cut(env, "="); strings.HasPrefix(name, "LICENSECTL_") {
			f.Setenv(name, "")
		}
	}
	// One command tree for every input: building it costs more than loading.
	// Each fuzzing process has its own directory, and runs inputs one at a time.
	flags := NewRootCmd(&Factory{}).PersistentFlags()
	file := filepath.Join(f.TempDir(), "config.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := flags.Set("config", file); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(flags)
		if err != nil {
			var de *licensing.Error
			if !errors.As(err, &de) || exitCode(err, true) != ExitUsage {
				t.Fatalf("%q: refused with %T %v, want a usage error", data, err, err)
			}
			if oneLineMessage(err) == "" {
				t.Fatalf("%q: refused without a message", data)
			}
			return
		}
		if cfg.Backend != "local" && cfg.Backend != "http" {
			t.Fatalf("%q: backend %q accepted", data, cfg.Backend)
		}
		if cfg.Backend == "local" && cfg.DB == "" {
			t.Fatalf("%q: local backend without a store path", data)
		}
	})
}
