package httpapi

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// A client address may fail authentication authFailureBurst times in a row,
// then once every 1/authFailureRate seconds: token guessing gets nowhere
// (tokens hold 120 secret bits anyway), legitimate typos are not locked out.
const (
	authFailureBurst = 20
	authFailureRate  = 0.2
)

// limiterKeys bounds the keys (tokens, accounts, addresses) a limiter
// remembers. Past it the key seen least recently is forgotten: forgetting
// only forgives, since a key comes back with a full burst.
const limiterKeys = 100_000

// limiters is a token bucket (golang.org/x/time/rate) per key.
type limiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex // guards keys; each rate.Limiter has its own lock
	keys  *lru[*rate.Limiter]
}

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{limit: rate.Limit(perSecond), burst: burst, keys: newLRU[*rate.Limiter](limiterKeys)}
}

func (l *limiters) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys.getOrAdd(key, func() *rate.Limiter { return rate.NewLimiter(l.limit, l.burst) })
}

// exhausted reports, without taking from it, whether key's bucket is empty
// at now and how long until it holds one request again.
func (l *limiters) exhausted(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.keys.get(key)
	l.mu.Unlock()
	if !ok {
		return 0, false
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration(math.Ceil((1 - tokens) / float64(l.limit) * float64(time.Second))), true
}

// charge is one request taken from one key's bucket.
type charge struct {
	l   *limiters
	key string
}

// take takes one request at now from each bucket, all or none: when any
// bucket is empty it takes nothing and says how long until all can give one.
func take(now time.Time, charges ...charge) (time.Duration, bool) {
	rs := make([]*rate.Reservation, 0, len(charges))
	var wait time.Duration
	for _, c := range charges {
		r := c.l.get(c.key).ReserveN(now, 1)
		if !r.OK() {
			wait = max(wait, time.Hour) // a burst of 0 never allows; NewServer never makes one
			continue
		}
		rs = append(rs, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait == 0 {
		return 0, true
	}
	for _, r := range rs {
		r.CancelAt(now)
	}
	return wait, false
}
