package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/licensectl/licensectl/internal/app"
)

// maxGroup bounds how many writes one group commit holds.
const maxGroup = 64

// groupCommit queues the small writes of concurrent requests (activate,
// deactivate, heartbeat) for the writer and commits them together: one
// BEGIN IMMEDIATE, each write in a savepoint of its own (its failure rolls
// back only its changes), one COMMIT. One commit per activation - its WAL
// write and fsync - bounded their rate; a group pays it once.
//
// Nothing waits to fill a group: the writes that queue while a group runs
// form the next one, so a lone request is committed at once. The first
// request of the queue runs the group (it "leads"), and hands the lead to
// the first one still queued when it is done, so no request runs more than
// one group.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupOp
	leading bool // a request is running a group, or has been handed the lead
	groups  int  // groups committed or failed, for tests
}

// groupOp is one queued write.
type groupOp struct {
	ctx  context.Context
	fn   func(app.Tx) error
	done chan error    // its result, once its group committed (or failed)
	lead chan struct{} // its request runs the next group
}

// WriteGrouped implements app.GroupWriter: fn runs once, in a savepoint of a
// write transaction shared with other requests' writes, after the writes
// queued before it (so the writes of a group run one after the other, each
// seeing those before it, as separate transactions would). It returns once
// that transaction committed: fn's error, or the commit's.
func (s *Store) WriteGrouped(ctx context.Context, fn func(app.Tx) error) error {
	op := &groupOp{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, op)
	if !g.leading {
		g.leading = true
		op.lead <- struct{}{}
	}
	g.mu.Unlock()
	for {
		select {
		case err := <-op.done:
			return err
		case <-op.lead:
			s.runGroup()
		}
	}
}

// runGroup commits the writes at the head of the queue (the leader's first)
// in one transaction and hands the lead on.
func (s *Store) runGroup() {
	g := &s.group
	g.mu.Lock()
	lead := g.queue[0]
	g.mu.Unlock()
	// The leader's context bounds the wait for the write lock, as a write
	// of its own would; requests queued meanwhile join this group.
	t, err := s.w.BeginTx(lead.ctx, nil)
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	if err != nil && lead.ctx.Err() != nil {
		n = 1 // the leader went away: the others get a leader of their own
	}
	batch := append([]*groupOp(nil), g.queue[:n]...)
	g.queue = g.queue[n:]
	g.groups++
	g.mu.Unlock()

	if err != nil {
		// The write lock stayed out of reach (another process held it past
		// the lock wait, a read-only store): the group fails as its writes
		// would have one by one, rather than each queueing for the wait.
		for _, op := range batch {
			op.done <- s.writeErr(op.ctx, err)
		}
	} else {
		s.runBatch(t, batch)
	}

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].lead <- struct{}{}
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

// stats are the writes queued and the groups run so far, for tests.
func (g *groupCommit) stats() (queued, groups int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue), g.groups
}

// runBatch runs each write in a savepoint of t, commits, and tells each its
// result.
func (s *Store) runBatch(t *sql.Tx, batch []*groupOp) {
	ctx := context.WithoutCancel(batch[0].ctx) // one request going away must not roll back the others
	errs := make([]error, len(batch))
	var unprepared []string
	var fatal error // the transaction itself failed: nothing commits
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := t.ExecContext(ctx, "SAVEPOINT grouped"); err != nil {
			fatal = err
			break
		}
		wt := s.newTx(t, s.w)
		err := runOp(op, wt)
		unprepared = append(unprepared, wt.unprepared...)
		if err != nil {
			errs[i] = s.writeErr(op.ctx, err)
			if _, rerr := t.ExecContext(ctx, "ROLLBACK TO grouped"); rerr != nil {
				fatal = rerr // SQLite rolled the whole transaction back (a full disk, an I/O error)
				break
			}
		}
		if _, err := t.ExecContext(ctx, "RELEASE grouped"); err != nil {
			fatal = err
			break
		}
	}
	if fatal == nil {
		fatal = t.Commit()
	} else {
		t.Rollback()
	}
	if fatal != nil {
		fatal = s.explain(fatal)
	}
	for i, op := range batch {
		switch {
		case errs[i] != nil:
			op.done <- errs[i]
		default:
			op.done <- fatal
		}
	}
	if len(unprepared) > 0 {
		s.prepareLater(s.w, unprepared)
	}
}

// runOp runs one queued write; a panic fails that write only.
func runOp(op *groupOp, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in a grouped write: %v", r)
		}
	}()
	return op.fn(t)
}

// writeErr is what a write that failed with err answers, as write does.
func (s *Store) writeErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return s.explain(err)
}
