package httpapi

import (
	"context"
	"sync"
	"time"
)

// streamSlots bounds the license lists streaming at once: at most total
// over all accounts and perAccount for any one, so that the clients of one
// account that stop reading cannot hold every slot.
type streamSlots struct {
	mu         sync.Mutex
	total      int
	perAccount int
	used       int
	byAccount  map[string]int // only accounts streaming now
	freed      chan struct{}  // closed (and replaced) whenever a slot is released
}

func newStreamSlots(total, perAccount int) *streamSlots {
	return &streamSlots{total: total, perAccount: perAccount, byAccount: map[string]int{}, freed: make(chan struct{})}
}

// acquire waits up to wait for a slot of account. It returns the function
// that releases it, or nil when none came free in time; a done ctx ends the
// wait with its error.
func (s *streamSlots) acquire(ctx context.Context, account string, wait time.Duration) (func(), error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		s.mu.Lock()
		if s.used < s.total && s.byAccount[account] < s.perAccount {
			s.used++
			s.byAccount[account]++
			s.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { s.release(account) }) }, nil
		}
		freed := s.freed
		s.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return nil, nil
		}
	}
}

func (s *streamSlots) release(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used--
	if s.byAccount[account]--; s.byAccount[account] <= 0 {
		delete(s.byAccount, account)
	}
	close(s.freed)
	s.freed = make(chan struct{})
}
