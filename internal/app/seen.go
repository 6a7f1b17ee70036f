package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Validation is a pure read: the "last seen" time it records is queued here
// and written later, in batches, by one write transaction per batch, never
// on the request's path.
const (
	// seenEvery coalesces a machine's validations: its last seen time is
	// written at most once per activation per seenEvery.
	seenEvery = time.Minute
	// seenDelay is how long a touch waits for others to share its write.
	seenDelay = time.Second
	// seenBatch bounds one write transaction's touches; a full batch is
	// written at once.
	seenBatch = 512
	// seenMaxPending bounds the queue while the store cannot write; touches
	// beyond it are dropped (last seen is informational).
	seenMaxPending = 100_000
	// seenFlushWait bounds a background batch's write.
	seenFlushWait = 30 * time.Second
)

// seenLog queues "machine seen" touches and writes them in batches. It is
// owned by one App: created by New, flushed by the use cases that read last
// seen times (so a process reads its own touches), and flushed and stopped
// by Close.
type seenLog struct {
	write func(ctx context.Context, batch []touch) error

	mu      sync.Mutex
	pending map[int64]time.Time // activation id -> latest time seen, not written
	written map[int64]time.Time // activation id -> time last written (or being written), within seenEvery
	timer   *time.Timer         // armed while pending has touches
	closed  bool

	flushMu sync.Mutex // one batch at a time
}

// touch is one activation's last seen time to write.
type touch struct {
	id int64
	at time.Time
}

func newSeenLog(write func(ctx context.Context, batch []touch) error) *seenLog {
	return &seenLog{write: write, pending: map[int64]time.Time{}, written: map[int64]time.Time{}}
}

// add queues a touch of activation id at time at, unless one was written
// (or queued) for it less than seenEvery before.
func (s *seenLog) add(id int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.pending) >= seenMaxPending {
		return
	}
	if w, ok := s.written[id]; ok && at.Sub(w) < seenEvery {
		return
	}
	if p, ok := s.pending[id]; ok && !at.After(p) {
		return
	}
	s.pending[id] = at
	switch {
	case len(s.pending) >= seenBatch:
		s.arm(0)
	case s.timer == nil:
		s.arm(seenDelay)
	}
}

// arm schedules a background flush after d (s.mu held).
func (s *seenLog) arm(d time.Duration) {
	if s.timer != nil {
		if d > 0 || !s.timer.Stop() {
			return // due already, or running
		}
	}
	s.timer = time.AfterFunc(d, s.background)
}

// background writes what is pending; a failed batch is queued again and
// retried later.
func (s *seenLog) background() {
	ctx, cancel := context.WithTimeout(context.Background(), seenFlushWait)
	defer cancel()
	s.mu.Lock()
	s.timer = nil
	s.mu.Unlock()
	if err := s.flush(ctx); err != nil {
		s.mu.Lock()
		if !s.closed && len(s.pending) > 0 && s.timer == nil {
			s.arm(seenDelay * 5)
		}
		s.mu.Unlock()
	}
}

// take removes up to seenBatch pending touches, oldest activation first,
// and marks them written.
func (s *seenLog) take() []touch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	batch := make([]touch, 0, min(len(s.pending), seenBatch))
	var latest time.Time
	for id, at := range s.pending {
		batch = append(batch, touch{id, at})
		if at.After(latest) {
			latest = at
		}
	}
	// By id: the row locks of concurrent batches (replicas) are taken in one order.
	slices.SortFunc(batch, func(a, b touch) int { return cmp.Compare(a.id, b.id) })
	batch = batch[:min(len(batch), seenBatch)]
	for _, t := range batch {
		delete(s.pending, t.id)
		s.written[t.id] = t.at
	}
	for id, at := range s.written {
		if latest.Sub(at) >= seenEvery {
			delete(s.written, id) // the next touch of it is written again
		}
	}
	return batch
}

// putBack queues a batch that failed again, unless newer touches replaced it.
func (s *seenLog) putBack(batch []touch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range batch {
		if w, ok := s.written[t.id]; ok && w.Equal(t.at) {
			delete(s.written, t.id)
		}
		if p, ok := s.pending[t.id]; !ok || t.at.After(p) {
			s.pending[t.id] = t.at
		}
	}
}

// flush writes every pending touch, a batch per transaction.
func (s *seenLog) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	for {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil
		}
		batch := s.take()
		if len(batch) == 0 {
			return nil
		}
		if err := s.write(ctx, batch); err != nil {
			s.putBack(batch)
			return err
		}
	}
}

// close writes what is pending and stops: later touches are dropped.
func (s *seenLog) close(ctx context.Context) error {
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.mu.Unlock()
	err := s.flush(ctx)
	s.flushMu.Lock() // a background batch that started meanwhile is over
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.flushMu.Unlock()
	if err != nil {
		return fmt.Errorf("record machines' last seen times: %w", err)
	}
	return nil
}

// writeSeen is the App's batch writer: one write transaction.
func (a *App) writeSeen(ctx context.Context, batch []touch) error {
	_, err := write(ctx, a, func(tx Tx, _ time.Time) (struct{}, error) {
		for _, t := range batch {
			if err := tx.TouchActivation(ctx, t.id, t.at); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

// FlushSeen writes the machines' last seen times that validations queued
// and waits for them; Close does so too.
func (a *App) FlushSeen(ctx context.Context) error { return a.seen.flush(ctx) }
