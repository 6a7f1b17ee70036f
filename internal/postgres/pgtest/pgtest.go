// Package pgtest finds a PostgreSQL server for a test binary and gives each
// test its own schema on it, so that concurrent test runs never see each
// other's rows. The server is, in order:
//
//  1. the one LICENSECTL_TEST_POSTGRES names (a postgres:// URL);
//  2. the machine's server on 127.0.0.1:5432 (trust auth, database test),
//     when it answers;
//  3. a private, throw-away cluster made with the PostgreSQL server binaries
//     (initdb and pg_ctl) when they are installed: a temporary directory, a
//     unix socket in it, stopped and removed when the tests end;
//  4. none: the PostgreSQL tests skip, and one line says what to install.
//     Under CI=true they never skip: the run fails instead.
//
// LICENSECTL_TEST_POSTGRES=private forces the private cluster, =skip the
// skip. A test never starts or stops the machine's own server.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable that picks the server (a URL, "private" or
// "skip"); Main sets it to the URL it found, for the tests and the
// processes they start.
const Env = "LICENSECTL_TEST_POSTGRES"

// DefaultURL is the machine's server, as on the CI machines.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

const (
	forcePrivate = "private"
	forceSkip    = "skip"
)

// Install says what makes the PostgreSQL tests run.
const Install = "install the PostgreSQL server (Debian/Ubuntu: apt install postgresql; macOS: brew install postgresql) for a private throw-away cluster, or set " + Env + "=postgres://USER@HOST:PORT/DB"

// URL is the database tests use: the one Main found (or
// LICENSECTL_TEST_POSTGRES names), else DefaultURL.
func URL() string {
	if u := os.Getenv(Env); u != "" && u != forcePrivate && u != forceSkip {
		return u
	}
	return DefaultURL
}

// Skipped tells whether Main found no server (and why), so PostgreSQL tests skip.
func Skipped() bool { return os.Getenv(Env) == forceSkip }

// Require returns the server's URL, or skips the test when there is none.
func Require(t interface{ Skip(...any) }) string {
	if Skipped() {
		t.Skip("no PostgreSQL for the tests: " + Install)
	}
	return URL()
}

// Server is the PostgreSQL server of one test binary.
type Server struct {
	URL string
	// Private is the throw-away cluster, when this binary started one.
	Private *Cluster
}

// Close stops the private cluster, if any.
func (s *Server) Close() error {
	if s == nil || s.Private == nil {
		return nil
	}
	return s.Private.Stop()
}

// errNone is Find's answer when there is no server and tests may skip.
var errNone = errors.New("no PostgreSQL server")

// Find picks the server as the package comment says. It returns errNone
// (wrapped, saying what was tried) when tests may skip, another error when
// they must fail.
func Find(ctx context.Context) (*Server, error) {
	ci := isCI()
	switch v := os.Getenv(Env); v {
	case forceSkip:
		if ci {
			return nil, fmt.Errorf("%s=skip, but under CI the PostgreSQL tests never skip", Env)
		}
		return nil, fmt.Errorf("%w: %s=skip", errNone, Env)
	case forcePrivate:
		c, err := StartCluster(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s=private: %w", Env, err)
		}
		return &Server{URL: c.URL, Private: c}, nil
	case "":
	default:
		if err := ping(ctx, v); err != nil {
			return nil, fmt.Errorf("%s=%s does not answer: %w", Env, redact(v), err)
		}
		return &Server{URL: v}, nil
	}
	perr := ping(ctx, DefaultURL)
	if perr == nil {
		return &Server{URL: DefaultURL}, nil
	}
	if _, _, err := binaries(); err == nil {
		c, err := StartCluster(ctx)
		if err != nil {
			return nil, fmt.Errorf("nothing answers at %s (%v), and a private cluster did not start: %w", DefaultURL, perr, err)
		}
		return &Server{URL: c.URL, Private: c}, nil
	}
	err := fmt.Errorf("%w: nothing answers at %s (%v) and no PostgreSQL server binaries (initdb, pg_ctl) are installed", errNone, DefaultURL, perr)
	if ci {
		return nil, fmt.Errorf("%v; under CI the PostgreSQL tests never skip", err)
	}
	return nil, err
}

// Main runs a test binary's tests (m.Run) with the server Find picks: its
// URL is put in LICENSECTL_TEST_POSTGRES, where URL, NewSchema and the
// processes the tests start find it, and a private cluster is stopped at
// the end. Without a server it prints one line saying what to install and,
// when all of the package's tests need PostgreSQL (all), runs none;
// otherwise the tests that need it skip (Require, Skipped). It returns the
// exit code for os.Exit.
func Main(m interface{ Run() int }, all bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := Find(ctx)
	cancel()
	switch {
	case errors.Is(err, errNone):
		fmt.Fprintf(os.Stderr, "pgtest: SKIPPING the PostgreSQL tests: %v; %s\n", err, Install)
		os.Setenv(Env, forceSkip)
		if all {
			return 0
		}
		return m.Run()
	case err != nil:
		fmt.Fprintf(os.Stderr, "pgtest: the PostgreSQL tests cannot run: %v\n", err)
		return 1
	}
	os.Setenv(Env, srv.URL)
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop the private cluster: %v\n", err)
	}
	return code
}

func isCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

func ping(ctx context.Context, dbURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// NewSchema names a fresh schema (it is created by the store's Open with
// Create) and returns the URL that selects it, and a function that drops it.
func NewSchema(prefix string) (schema, dbURL string, drop func() error) {
	var b [6]byte
	rand.Read(b[:])
	schema = prefix + "_" + hex.EncodeToString(b[:])
	u, err := url.Parse(URL())
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, URL())
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		return err
	}
	return schema, u.String(), drop
}

// Cluster is a private PostgreSQL cluster in a temporary directory,
// reachable only through a unix socket in that directory.
type Cluster struct {
	URL    string // database test, user postgres, trust auth
	dir    string
	bin    string // directory of pg_ctl
	asUser *user.User
}

// binaries finds initdb and pg_ctl: the newest /usr/lib/postgresql/N/bin
// (Debian, Ubuntu), else /usr/local/pgsql/bin, else $PATH.
func binaries() (initdb, pgctl string, err error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	dirs = append(dirs, "/usr/local/pgsql/bin")
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(i) && isExecutable(p) {
			return i, p, nil
		}
	}
	i, err := exec.LookPath("initdb")
	if err != nil {
		return "", "", err
	}
	p, err := exec.LookPath("pg_ctl")
	if err != nil {
		return "", "", err
	}
	return i, p, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// StartCluster makes and starts a private cluster: initdb on a temporary
// directory (as the postgres user when running as root, which initdb
// refuses), pg_ctl start on a free port with the socket in that directory
// and no TCP listener, and a database test.
func StartCluster(ctx context.Context) (*Cluster, error) {
	initdb, pgctl, err := binaries()
	if err != nil {
		return nil, fmt.Errorf("no PostgreSQL server binaries: %w", err)
	}
	dir, err := os.MkdirTemp("", "lct-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: filepath.Dir(pgctl)}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	if os.Geteuid() == 0 {
		if c.asUser, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root, initdb needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(c.asUser.Uid)
		gid, _ := strconv.Atoi(c.asUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(ctx, initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	if out, err := c.run(ctx, pgctl, "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out), lastLines(log))
	}
	admin := fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d", url.QueryEscape(dir), port)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connect to the private cluster: %w", err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE test")
	conn.Close(ctx)
	if err != nil {
		return nil, err
	}
	c.URL = fmt.Sprintf("postgres://postgres@/test?host=%s&port=%d", url.QueryEscape(dir), port)
	ok = true
	return c, nil
}

// Stop stops the cluster (immediately: it is thrown away) and removes its
// directory.
func (c *Cluster) Stop() error {
	var err error
	data := filepath.Join(c.dir, "data")
	if _, serr := os.Stat(filepath.Join(data, "postmaster.pid")); serr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, rerr := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); rerr != nil {
			err = fmt.Errorf("pg_ctl stop: %v: %s", rerr, lastLines(out))
		}
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// Dir is the cluster's directory (its data and socket).
func (c *Cluster) Dir() string { return c.dir }

// run runs a server binary, as the postgres user when running as root.
func (c *Cluster) run(ctx context.Context, bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	switch {
	case c.asUser == nil:
		cmd = exec.CommandContext(ctx, bin, args...)
	case lookPath("runuser") != "":
		cmd = exec.CommandContext(ctx, lookPath("runuser"), append([]string{"-u", c.asUser.Username, "--", bin}, args...)...)
	default:
		quoted := []string{shellQuote(bin)}
		for _, a := range args {
			quoted = append(quoted, shellQuote(a))
		}
		cmd = exec.CommandContext(ctx, "su", c.asUser.Username, "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
	}
	cmd.Dir = c.dir
	// pg_ctl's postmaster must outlive neither this process's stdout
	// (go test waits for it) nor a terminal's signals.
	cmd.Stdin = nil
	return cmd
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
