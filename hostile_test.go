package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dumpStore renders every row of every table, sorted, so two dumps are equal
// exactly when the store's content is.
func dumpStore(t *testing.T, db string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rs, err := conn.Query(fmt.Sprintf("SELECT * FROM %q", table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		var lines []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		rs.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s %d\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// oneLineError is what every refusal prints: one error line and at most
// one hint line, nothing else.
var oneLineError = regexp.MustCompile(`^error: [^\n]+\n(hint: [^\n]+\n)?$`)

type hostileCase struct {
	name   string
	args   []string // after --db STORE, unless the case names its own --db
	code   int
	stderr string // regexp on stderr (the first line for refusals)
	stdout string // regexp on stdout when code is 0
	// prepare may replace the command (e.g. run it under prlimit) and
	// returns false to skip the case on this machine.
	prepare func(t *testing.T, db string, argv []string) ([]string, bool)
}

// Hostile input to the real binary: every refusal is one line, the
// documented exit code, and the store is left exactly as it was.
func TestHostileCLIInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs many real processes")
	}
	t.Parallel()
	db := newStore(t)
	mustRun(t, db, "companies", "create", "Acme", "-q")
	key := strings.TrimSpace(mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", "3", "-o", "json", "--jq", ".licenses[0]"))
	if len(key) != 29 {
		t.Fatalf("key %q", key)
	}
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.db")
	os.WriteFile(notSQLite, []byte("SQLite format 2 -- not really\n"), 0o600)
	foreign := filepath.Join(dir, "foreign.db")
	if conn, err := sql.Open("sqlite", foreign); err == nil {
		conn.Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
		conn.Close()
	}
	sqlBombs := []string{`' OR '1'='1`, `x'; DROP TABLE licenses; --`, `") OR 1=1 --`, `%' ESCAPE '\`}

	cases := []hostileCase{
		{name: "quantity beyond int64", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "99999999999999999999"}, code: 2, stderr: `invalid argument .* for "--quantity"`},
		{name: "quantity beyond int32", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "2147483648"}, code: 2, stderr: `quantity must be between 1 and 100000`},
		{name: "quantity over the limit", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "100001"}, code: 2, stderr: `quantity must be between 1 and 100000`},
		{name: "negative quantity", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "-5"}, code: 2, stderr: `quantity must be between 1 and 100000, got -5`},
		{name: "zero quantity", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "0"}, code: 2, stderr: `quantity must be`},
		{name: "float quantity", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "1e3"}, code: 2, stderr: `invalid argument "1e3"`},
		{name: "huge unassigned maintenance", args: []string{"maintenance", "buy", "--unassigned", "--product", "backup-server", "--quantity", "1000000"}, code: 2, stderr: `quantity must be between`},
		{name: "negative due-within", args: []string{"renewals", "list", "--due-within", "-5d"}, code: 2, stderr: `invalid --due-within`},
		{name: "escape sequence in company", args: []string{"companies", "create", "Acme\x1b[31mRed"}, code: 2, stderr: `contains control characters`},
		{name: "newline in company", args: []string{"companies", "create", "Acme\nInc"}, code: 2, stderr: `contains control characters`},
		{name: "right-to-left override in company", args: []string{"companies", "create", "Acme\u202eInc"}, code: 2, stderr: `invisible formatting characters`},
		{name: "zero-width space in company", args: []string{"companies", "create", "Ac\u200bme"}, code: 2, stderr: `invisible formatting characters`},
		{name: "DEL in company", args: []string{"companies", "create", "Acme\x7f"}, code: 2, stderr: `contains control characters`},
		{name: "long company", args: []string{"companies", "create", strings.Repeat("é", 101)}, code: 2, stderr: `longer than 100 characters`},
		{name: "blank company", args: []string{"companies", "create", " \t "}, code: 2, stderr: `company name is empty`},
		{name: "newline in email", args: []string{"accounts", "create", "a\n@example.com"}, code: 2, stderr: `invalid email`},
		{name: "escape in email", args: []string{"accounts", "create", "a@example.com\x1b[2J"}, code: 2, stderr: `invalid email`},
		{name: "unicode-only email", args: []string{"accounts", "create", "ünïcödé"}, code: 2, stderr: `invalid email`},
		{name: "escape in purchase email", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "1", "--purchase-email", "x@example.com\r\nBcc: evil@example.com"}, code: 2, stderr: `email`},
		{name: "escape in machine", args: []string{"activations", "activate", key, "--machine", "m\x1b[2J", "--fingerprint", "f", "--os", "windows", "--version", "7.0"}, code: 2, stderr: `machine must be`},
		{name: "control in idempotency key", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "1", "--idempotency-key", "k\x1bz"}, code: 2, stderr: `idempotency key must be`},
		{name: "sort injection", args: []string{"licenses", "list", "--sort", "created_at; DROP TABLE licenses"}, code: 2, stderr: `invalid sort field`},
		{name: "output format injection", args: []string{"licenses", "list", "-o", "json'; --"}, code: 2, stderr: `invalid output format`},
		{name: "as-of injection", args: []string{"renewals", "run", "--as-of", "2027'; --"}, code: 2, stderr: `invalid time`},
		{name: "os injection", args: []string{"activations", "activate", key, "--machine", "m", "--fingerprint", "f", "--os", "windows' OR 1=1", "--version", "7.0"}, code: 2, stderr: `invalid os`},
		{name: "version injection", args: []string{"activations", "activate", key, "--machine", "m", "--fingerprint", "f", "--os", "windows", "--version", "1'; DROP TABLE x"}, code: 2, stderr: `invalid version`},
		{name: "key injection", args: []string{"licenses", "show", "7K3D9-QX2M1-ABCDE' OR 1=1"}, code: 2, stderr: `malformed license key`},
		{name: "CSV file is a directory", args: []string{"licenses", "buy", "--from-csv", dir}, code: 2, stderr: `is a directory`},
		{name: "db is a directory", args: []string{"--db", dir, "licenses", "list"}, code: 2, stderr: `is a directory, not a licensectl store`},
		{name: "db is /dev/null", args: []string{"--db", "/dev/null", "licenses", "buy", "--product", "backup-server", "--quantity", "1"}, code: 2, stderr: `/dev/null is not a licensectl store`},
		{name: "db is a text file", args: []string{"--db", notSQLite, "init"}, code: 2, stderr: `is not a licensectl store`},
		{name: "db is another program's SQLite file", args: []string{"--db", foreign, "licenses", "buy", "--product", "backup-server", "--quantity", "1"}, code: 2, stderr: `is not a licensectl store`},
		{name: "search with SQL and LIKE metacharacters", args: []string{"licenses", "list", "--search", `%' OR 1=1 --`, "-o", "csv", "--no-headers"}, code: 0, stdout: `^$`},
		{name: "audit action with SQL", args: []string{"audit", "list", "--action", `x' OR 1=1 --`, "-o", "csv", "--no-headers"}, code: 0, stdout: `^$`},
		{name: "read-only store", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "1"}, code: 1, stderr: `^error: cannot write the store .*(unable to open database file|readonly database)`, prepare: readOnlyStore},
		{name: "disk full (RLIMIT_FSIZE)", args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "50000"}, code: 1, stderr: `^error: cannot write the store .*(disk I/O error|disk is full|file too large)`, prepare: fileSizeLimit},
	}
	for _, bomb := range sqlBombs {
		cases = append(cases,
			hostileCase{name: "company flag " + bomb, args: []string{"licenses", "buy", "--product", "backup-server", "--quantity", "1", "--company", bomb}, code: 3, stderr: `no company`},
			hostileCase{name: "list company " + bomb, args: []string{"licenses", "list", "--company", bomb}, code: 3, stderr: `no company`},
			hostileCase{name: "maintenance company " + bomb, args: []string{"maintenance", "buy", "--all", "--yes", "--company", bomb}, code: 3, stderr: `no company`},
			hostileCase{name: "set company " + bomb, args: []string{"licenses", "set", key, "--company", bomb}, code: 3, stderr: `no company`},
			hostileCase{name: "product " + bomb, args: []string{"licenses", "buy", "--product", bomb, "--quantity", "1"}, code: 3, stderr: `unknown product`},
			hostileCase{name: "list product " + bomb, args: []string{"licenses", "list", "--product", bomb}, code: 3, stderr: `unknown product`},
			hostileCase{name: "account " + bomb, args: []string{"--account", "ops@example.com" + bomb, "licenses", "list"}, code: 4, stderr: `does not exist|invalid email|acting account`},
			hostileCase{name: "attach purchase id " + bomb, args: []string{"licenses", "attach", "--purchase-id", bomb}, code: 2, stderr: `purchase`},
			hostileCase{name: "search " + bomb, args: []string{"licenses", "list", "--search", bomb, "-o", "csv", "--no-headers"}, code: 0, stdout: `^$`},
		)
	}

	want := dumpStore(t, db)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			argv := append([]string{"licensectl", "--db", db}, c.args...)
			if len(c.args) > 0 && c.args[0] == "--db" {
				argv = append([]string{"licensectl"}, c.args...)
			}
			var digests map[string]string
			if c.args[0] == "--db" {
				if fi, err := os.Stat(c.args[1]); err == nil && fi.Mode().IsRegular() {
					digests = map[string]string{c.args[1]: fileDigest(t, c.args[1])}
				}
			}
			if c.prepare != nil {
				var ok bool
				if argv, ok = c.prepare(t, db, argv); !ok {
					return
				}
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), "LICENSECTL_ACCOUNT=ops@example.com", "CI=1")
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			code := exitCode(t, cmd.Run())
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, errOut.String())
			}
			if c.code == 0 {
				if errOut.Len() != 0 || !regexp.MustCompile(c.stdout).MatchString(out.String()) {
					t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
				}
			} else {
				if !oneLineError.MatchString(errOut.String()) || !regexp.MustCompile(c.stderr).MatchString(strings.SplitN(errOut.String(), "\n", 2)[0]) {
					t.Fatalf("stderr %q, want one line matching %q", errOut.String(), c.stderr)
				}
				if out.Len() != 0 {
					t.Fatalf("stdout %q on a refusal", out.String())
				}
			}
			for path, d := range digests {
				if fileDigest(t, path) != d {
					t.Fatalf("%s was changed", path)
				}
			}
			if got := dumpStore(t, db); got != want {
				t.Fatal("the store changed")
			}
		})
	}
	t.Logf("%d hostile inputs refused or answered harmlessly, store unchanged", len(cases))
}

// readOnlyStore makes the store unwritable. Root ignores file modes, so as
// root the command runs in its own mount namespace where the store's
// directory is bind-mounted read-only (skipped where that is not allowed);
// otherwise the file is chmod 0400 and its directory 0500.
func readOnlyStore(t *testing.T, db string, argv []string) ([]string, bool) {
	dir := filepath.Dir(db)
	if os.Geteuid() != 0 {
		os.Chmod(db, 0o400)
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700); os.Chmod(db, 0o600) })
		return argv, true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("running as root without unshare: cannot make the store read-only")
	}
	probe := exec.Command(unshare, "-m", "sh", "-c", `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0"`, dir)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("running as root and cannot bind-mount read-only here: %v %s", err, out)
	}
	script := `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"`
	return append([]string{unshare, "-m", "sh", "-c", script, dir}, argv...), true
}

// fileSizeLimit runs the command with RLIMIT_FSIZE a little above the
// store's size (prlimit, from util-linux): the purchase cannot be written.
func fileSizeLimit(t *testing.T, db string, argv []string) ([]string, bool) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit not installed")
	}
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{prlimit, fmt.Sprintf("--fsize=%d", fi.Size()+256<<10)}, argv...), true
}
