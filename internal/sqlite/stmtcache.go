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
const maxCachedStmts = 128

// stmtCache keeps prepared statements of the read queries that run on every
// request (token look-up, acting account, license pages). Parsing and
// planning them was a quarter of the server's cost per request. A *sql.Stmt
// on the read pool prepares itself on each connection it runs on, and SQLite
// re-prepares a statement by itself when another process changes the schema.
//
// Statements are never evicted: one may be in use by another goroutine at
// any moment, and closing it would fail that query. Once full, the cache
// lets further queries run unprepared.
type stmtCache struct {
	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	closed bool
}

// lookup returns the statement cached for query; done is false when there
// is none but there could be (get would prepare it).
func (c *stmtCache) lookup(query string) (st *sql.Stmt, done bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st = c.stmts[query]
	return st, st != nil || c.closed || len(c.stmts) >= maxCachedStmts
}

// get returns the prepared statement for query, or nil when the cache is full.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st, done := c.lookup(query); done {
		return st, nil
	}
	// Prepared without the lock: preparing waits for a free connection of
	// the pool, and a reader that holds one must never wait for the lock
	// behind it (see tx.stmt).
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.stmts[query]; cur != nil || c.closed || len(c.stmts) >= maxCachedStmts {
		st.Close() // another goroutine prepared it first, or no room
		return cur, nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
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
