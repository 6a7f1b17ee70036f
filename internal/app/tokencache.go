package app

import (
	"sync"
	"time"
)

// tokenCacheTTL bounds how long Authenticate trusts a token as it last
// read it: a revocation, an expiry date changed or an owner disabled by
// another process (a CLI, another replica) applies within this time. Those
// this App makes apply at once (tokenCache.invalidate).
const tokenCacheTTL = time.Second

// tokenCacheMax bounds the cache; when full it starts over.
const tokenCacheMax = 10_000

// tokenCache keeps the token records Authenticate read, by clear prefix,
// for tokenCacheTTL: the look-up (the token joined with its owner) was 13-17%
// of every request. Only tokens that work are kept, so a token created, or
// an owner enabled, by another process works at once. Records are never
// changed once cached.
type tokenCache struct {
	mu  sync.Mutex
	m   map[string]cachedToken
	gen uint64 // counts invalidations
}

type cachedToken struct {
	rec  *TokenRecord
	read time.Time // monotonic
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]cachedToken{}} }

// get returns the record cached for prefix and still fresh, or nil and the
// generation to put a fresh read under.
func (c *tokenCache) get(prefix string) (*TokenRecord, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[prefix]; ok {
		if time.Since(e.read) < tokenCacheTTL {
			return e.rec, c.gen
		}
		delete(c.m, prefix)
	}
	return nil, c.gen
}

// put caches a record read at read, unless the cache was invalidated since
// generation gen (the record may predate that change).
func (c *tokenCache) put(prefix string, rec *TokenRecord, gen uint64, read time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= tokenCacheMax {
		c.m = map[string]cachedToken{}
	}
	c.m[prefix] = cachedToken{rec: rec, read: read}
}

// touched records in the cached record (a copy) that the token's use at
// was recorded, so the next requests do not record it again.
func (c *tokenCache) touched(prefix string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[prefix]; ok {
		r := *e.rec
		r.LastUsed = &at
		e.rec = &r
		c.m[prefix] = e
	}
}

// invalidate forgets every record: a token was revoked, or an owner
// disabled or enabled, by this App.
func (c *tokenCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}
