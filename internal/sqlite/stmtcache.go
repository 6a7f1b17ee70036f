package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts bounds the statement cache. The hot queries have few
// shapes (a list query's text depends on which filters and sorts are set,
// never on their values), so the first ones prepared are the ones that count.
const maxCachedStmts = 256

// stmtCache keeps prepared statements of the queries that run on every
// request, on both pools: reads (token look-up, acting account, license
// pages) and the writer's (validation used to, activations do). Parsing
// and planning them was a quarter to a third of the server's cost per
// request. A *sql.Stmt prepares itself on each connection of its pool it
// runs on (so a writer connection that was replaced gets it again), and
// SQLite re-prepares a statement by itself (sqlite3_prepare_v2) when the
// schema changed - a migration, another process's CREATE INDEX - so a
// cached statement is invalidated by the schema change, never stale.
//
// Statements are never evicted: one may be in use by another goroutine at
// any moment, and closing it would fail that query. Once full, the cache
// lets further queries run unprepared.
type stmtCache struct {
	mu      sync.RWMutex
	stmts   map[stmtKey]*sql.Stmt
	pending map[stmtKey]bool // being prepared in the background (claim)
	closed  bool
}

// stmtKey is a query on one pool: a statement prepared on the read pool is
// no use in a transaction of the writer.
type stmtKey struct {
	db    *sql.DB
	query string
}

// lookup returns the statement cached for query on db; done is false when
// there is none but there could be (get would prepare it).
func (c *stmtCache) lookup(db *sql.DB, query string) (st *sql.Stmt, done bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st = c.stmts[stmtKey{db, query}]
	return st, st != nil || c.closed || len(c.stmts) >= maxCachedStmts
}

// claim tells whether the caller should prepare query on db (in the
// background): it is neither cached nor being prepared, and there is room.
func (c *stmtCache) claim(db *sql.DB, query string) bool {
	k := stmtKey{db, query}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts[k] != nil || c.pending[k] || c.closed || len(c.stmts)+len(c.pending) >= maxCachedStmts {
		return false
	}
	if c.pending == nil {
		c.pending = map[stmtKey]bool{}
	}
	c.pending[k] = true
	return true
}

// get returns the prepared statement for query on db, or nil when the
// cache is full.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{db, query}
	st, err := c.prepare(ctx, db, query)
	c.mu.Lock()
	delete(c.pending, k)
	c.mu.Unlock()
	return st, err
}

func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st, done := c.lookup(db, query); done {
		return st, nil
	}
	// Prepared without the lock: preparing waits for a free connection of
	// the pool, and a reader that holds one must never wait for the lock
	// behind it (see tx.stmt).
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	k := stmtKey{db, query}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.stmts[k]; cur != nil || c.closed || len(c.stmts) >= maxCachedStmts {
		st.Close() // another goroutine prepared it first, or no room
		return cur, nil
	}
	if c.stmts == nil {
		c.stmts = map[stmtKey]*sql.Stmt{}
	}
	c.stmts[k] = st
	return st, nil
}

// close closes every statement; later queries run unprepared (and fail on
// the closed pool).
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts, c.closed = nil, true
	return errors.Join(errs...)
}

// len is the number of statements held, for tests.
func (c *stmtCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.stmts)
}

// lenOn is the number of statements held for db, for tests.
func (c *stmtCache) lenOn(db *sql.DB) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for k := range c.stmts {
		if k.db == db {
			n++
		}
	}
	return n
}

// cachedReader is a queryer on the read pool whose queries go through the
// statement cache. Use it for reads that run on every request; writes keep
// their transaction.
type cachedReader struct{ s *Store }

func (s *Store) reader() queryer { return cachedReader{s} }

func (c cachedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.s.stmts.get(ctx, c.s.r, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.s.r.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (c cachedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.s.stmts.get(ctx, c.s.r, query)
	if err != nil || st == nil {
		// Unprepared, it reports any error of the query through the Row.
		return c.s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// ExecContext runs on the read pool unprepared: nothing hot executes there.
func (c cachedReader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.s.r.ExecContext(ctx, query, args...)
}
