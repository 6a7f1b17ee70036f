// Package postgres implements the licensing services on PostgreSQL (pgx,
// pgxpool), so that several `licensectl serve` replicas can share one store.
// It mirrors the SQLite store method for method - the same rules, errors,
// orders and audit events - and replaces SQLite's single writer with
// SERIALIZABLE transactions, unique constraints and a retry loop.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// defaultMaxConns bounds each process's connections when the URL does not
// (pool_max_conns): replicas × this must stay under the server's
// max_connections (100 by default).
const defaultMaxConns = 16

// Options tune Open.
type Options struct {
	// Create makes the store (its tables, and the schema named first in the
	// URL's search_path) when it does not exist.
	Create bool
	// Clock tells the time; nil means licensing.SystemClock.
	Clock licensing.Clock
}

// Store is a licensectl store in a PostgreSQL database (or one schema of it).
// It implements licensing.Services and is safe for concurrent use, also by
// several processes on the same database.
type Store struct {
	url   string // redacted: printable
	pool  db     // every query goes through it, so temporary failures read the same
	clock licensing.Clock
}

// IsURL tells whether a --db value names a PostgreSQL database rather than a
// SQLite file.
func IsURL(db string) bool {
	l := strings.ToLower(db)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Open connects to the database at url (postgres://user@host:port/db?...),
// creating the store when opt.Create is set, and migrates it to the schema
// this binary knows. Pool settings (pool_max_conns, ...) and run-time
// parameters such as search_path are taken from the URL.
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	shown := redact(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, licensing.Errorf(licensing.EINVALID, "invalid PostgreSQL URL %s", shown).
			WithHint("use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?search_path=SCHEMA]")
	}
	if !strings.Contains(rawURL, "pool_max_conns") {
		// pgxpool's default (4 on this 2-core machine) halved purchase
		// throughput of `serve`: a purchase waits on the commit's fsync, not
		// on a CPU. Connections open lazily, so a CLI command still uses one.
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without connect_timeout in the URL a dropped SYN would hang a
		// command for minutes.
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	clock := opt.Clock
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", shown, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if reason, ok := connectionFailure(err); ok && ctx.Err() == nil {
			// The operator's own command (or serve starting): the URL helps.
			return nil, &unavailableError{domain: &licensing.Error{Code: licensing.EUNAVAILABLE,
				Message: fmt.Sprintf("PostgreSQL at %s %s", shown, reason),
				Hint:    "check that PostgreSQL is running and the URL is right; if it is restarting, try again shortly"}, cause: err}
		}
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", shown, err)
	}
	s := &Store{url: shown, pool: db{pool}, clock: clock}
	if err := migrate(ctx, pool, firstSchema(cfg.ConnConfig.RuntimeParams["search_path"]), opt.Create, clock); err != nil {
		pool.Close()
		if errors.Is(err, errNoStore) {
			return nil, licensing.Errorf(licensing.ENOTFOUND, "no licensectl store at %s", shown).
				WithHint("run `licensectl init --db URL` to create it")
		}
		return nil, unavailable(ctx, err)
	}
	return s, nil
}

// Path returns the URL the store was opened with, password masked.
func (s *Store) Path() string { return s.url }

// Clock returns the clock the store was opened with.
func (s *Store) Clock() licensing.Clock { return s.clock }

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks the store answers, for the server's readiness probe.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// firstSchema is the schema that search_path creates tables in, or "" when
// that is left to PostgreSQL ($user, public).
func firstSchema(searchPath string) string {
	first, _, _ := strings.Cut(searchPath, ",")
	first = strings.Trim(strings.TrimSpace(first), `"`)
	if strings.HasPrefix(first, "$") {
		return ""
	}
	return first
}

// maxAttempts bounds how often write reruns a transaction that lost a race.
const maxAttempts = 12

// errRetry makes write run the transaction again: something it read changed
// under it in a way no constraint reports (see internal/app). It is the
// port's app.ErrRetry, so a use case of internal/app asks for a rerun the
// same way.
var errRetry = app.ErrRetry

// write runs fn in one SERIALIZABLE transaction and runs it again when it
// lost a race with another connection: a serialization failure, a deadlock,
// or a unique constraint that a concurrent transaction claimed first. On the
// rerun fn's own checks see the winner's rows and answer as SQLite would
// have (the key's original purchase, "already exists", ...). A connection
// that failed before anything was sent on it (a pool connection broken by
// a server restart) is also rerun, on another connection. fn must not keep
// state across runs.
//
// Races that are still lost after maxAttempts are a temporary failure
// (EUNAVAILABLE: HTTP 503, exit 75), as are a server that is down or
// restarting: see unavailable.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, fn)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if !(retryable(err) || pgconn.SafeToRetry(err)) || attempt == maxAttempts {
			if errors.Is(err, errRetry) || lostRace(err) {
				return &unavailableError{domain: errContention(), cause: err}
			}
			return unavailable(ctx, err)
		}
		// Jittered, growing pauses keep two losers from colliding again.
		pause := time.Duration(1<<min(attempt, 7)) * time.Millisecond
		pause += rand.N(pause)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, errRetry) || lostRace(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
}

// lostRace tells a serialization failure or a deadlock: nothing is wrong
// with the transaction, another one got there first.
func lostRace(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") // serialization_failure, deadlock_detected
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func optionalUnix(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := unixTime(*v)
	return &t
}

// ProbeWrite checks the server accepts writes: not a standby in recovery,
// not a read-only session.
func (s *Store) ProbeWrite(ctx context.Context) error {
	var writable bool
	if err := s.pool.QueryRow(ctx, "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'").Scan(&writable); err != nil {
		return err
	}
	if !writable {
		return errors.New("the PostgreSQL server is read-only (a standby, or default_transaction_read_only)")
	}
	return nil
}
