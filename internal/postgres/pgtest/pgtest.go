// Package pgtest gives tests their own schema on the PostgreSQL server of the
// machine (127.0.0.1:5432, trust auth, database test), starting the local
// cluster if it is down, so that concurrent test runs never see each other's
// rows and a missing server fails loudly instead of skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the CI machines' server; LICENSECTL_TEST_POSTGRES overrides it.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

// URL is the database tests use.
func URL() string {
	if u := os.Getenv("LICENSECTL_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultURL
}

// Ensure returns nil when the server answers. Otherwise it starts the local
// clusters with pg_ctlcluster (as .ci/run does) and waits up to 30 s for the
// server; the error says what was tried.
func Ensure(ctx context.Context) error {
	if ping(ctx) == nil {
		return nil
	}
	versions, _ := filepath.Glob("/etc/postgresql/*")
	var tried []string
	for _, dir := range versions {
		v := filepath.Base(dir)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, "pg_ctlcluster", "--skip-systemctl-redirect", v, "main", "start").CombinedOutput()
		cancel()
		tried = append(tried, fmt.Sprintf("pg_ctlcluster %s main start: %v %s", v, err, strings.TrimSpace(string(out))))
	}
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = ping(ctx); err == nil {
			return nil
		}
	}
	if len(tried) == 0 {
		tried = append(tried, "no cluster under /etc/postgresql to start")
	}
	return fmt.Errorf("PostgreSQL is not reachable at %s: %v (%s); start it or set LICENSECTL_TEST_POSTGRES",
		URL(), err, strings.Join(tried, "; "))
}

func ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, URL())
	if err != nil {
		return err
	}
	return c.Close(ctx)
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
