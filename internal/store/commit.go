package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Write transactions are group-committed. Store.Tx queues its function; one
// writer goroutine takes everything queued, runs each function in a
// savepoint of one SQLite transaction, in queue order, and commits once.
//
// Why: the control plane writes in bursts (a rolling batch starts, records
// and stops a dozen tasks at once), each write a few statements. One
// transaction each cost a BEGIN, a COMMIT and a hand-over of the single
// writer connection to the next goroutine, which on a busy machine may not
// run at once: at 50 tasks the writes waited 12 ms at p90 for a lock held
// 0.1 ms at the median. Grouped, they run back to back.
//
// Each function still succeeds or fails alone: its savepoint is rolled back
// when it returns an error or panics, and the others commit. A commit that
// fails fails every function of the group. A function runs to its end
// once started; its context is checked before it starts.

// errClosed is the answer to a write after Close.
var errClosed = errors.New("store: closed")

// txState is where a queued function is.
type txState int32

const (
	txQueued txState = iota
	txRunning
	txCancelled
)

// txReq is one Store.Tx call.
type txReq struct {
	ctx      context.Context
	fn       func(*Tx) error
	state    atomic.Int32
	err      error
	panicked any
	done     chan struct{}
}

// committer is the queue and its writer goroutine.
type committer struct {
	mu     sync.Mutex
	queue  []*txReq
	closed bool
	kick   chan struct{} // the writer has work
	exited chan struct{} // the writer returned
}

func newCommitter() *committer {
	return &committer{kick: make(chan struct{}, 1), exited: make(chan struct{})}
}

// wake tells the writer there is work; a wake already pending covers it.
func (c *committer) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Tx runs fn in a write transaction: fn's writes commit if it returns nil
// and are rolled back otherwise (or if fn panics; the panic is raised again
// here). Writes are serialised and grouped (see above), so inside fn write
// through tx only: a write through the Store would wait for fn forever.
func (s *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	r := &txReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	c := s.gc
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	c.wake()
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(int32(txQueued), int32(txCancelled)) {
			return fmt.Errorf("store: begin: %w", ctx.Err())
		}
		<-r.done // started: it finishes
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// write is the writer goroutine; it returns once Close drained the queue.
func (s *Store) write() {
	c := s.gc
	defer close(c.exited)
	for {
		c.mu.Lock()
		group, closed := c.queue, c.closed
		c.queue = nil
		c.mu.Unlock()
		if len(group) > 0 {
			s.commit(group)
			continue
		}
		if closed {
			return
		}
		<-c.kick
	}
}

// stopWriting makes later writes fail, lets the queued ones finish and
// waits for the writer.
func (s *Store) stopWriting() {
	c := s.gc
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wake()
	<-c.exited
}

// commit runs a group in one transaction.
func (s *Store) commit(group []*txReq) {
	// Not a caller's context: a cancelled one would roll back the group.
	ctx := context.Background()
	finish := func(r *txReq, err error) {
		r.err = err
		close(r.done)
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range group {
			if r.state.CompareAndSwap(int32(txQueued), int32(txRunning)) {
				finish(r, fmt.Errorf("store: begin: %w", err))
			}
		}
		return
	}
	var ok []*txReq
	var tasks []taskWrite // the task rows the kept functions wrote, in order
	events, tasksReset, broken := false, false, error(nil)
	// A transaction of one function needs no savepoint: if it fails, the
	// whole transaction is rolled back.
	alone := len(group) == 1
	for _, r := range group {
		if !r.state.CompareAndSwap(int32(txQueued), int32(txRunning)) {
			continue // its caller gave up
		}
		if broken != nil {
			finish(r, broken)
			continue
		}
		if err := r.ctx.Err(); err != nil {
			finish(r, fmt.Errorf("store: begin: %w", err))
			continue
		}
		t, err := runFn(sqlTx, s, r, alone)
		if err != nil {
			// The transaction is unusable: nothing of the group commits.
			broken = fmt.Errorf("store: %w", err)
			finish(r, broken)
			continue
		}
		if r.err != nil || r.panicked != nil {
			close(r.done)
			continue
		}
		ok, tasks = append(ok, r), append(tasks, t.tasks...)
		events, tasksReset = events || t.events, tasksReset || t.tasksReset
	}
	if broken != nil {
		_ = sqlTx.Rollback()
		for _, r := range ok {
			finish(r, broken)
		}
		return
	}
	if len(ok) == 0 {
		// Nothing to keep; a function that ran without a savepoint may
		// have written before it failed.
		_ = sqlTx.Rollback()
		s.ws.prepareLater(ctx)
		return
	}
	err = sqlTx.Commit()
	if err != nil {
		err = fmt.Errorf("store: commit: %w", err)
		s.taskRows.apply(nil, true) // what the file holds is not known here
	} else {
		// Before anyone learns of the commit: a read after it must see it.
		s.taskRows.apply(tasks, tasksReset)
	}
	for _, r := range ok {
		finish(r, err)
	}
	if err == nil && events {
		s.notify()
	}
	// The connection is free again: prepare what ran unprepared.
	s.ws.prepareLater(ctx)
}

// runFn runs r's function in sqlTx: in a savepoint of its own, keeping
// its writes if it returns nil and undoing them otherwise, unless it is
// alone in the transaction, whose rollback undoes them. r.err and
// r.panicked say how it ended. The error is for a transaction that cannot
// go on.
func runFn(sqlTx *sql.Tx, s *Store, r *txReq, alone bool) (*Tx, error) {
	t := &Tx{sqlTx: sqlTx}
	q := inTx{sqlTx, s.ws}
	t.ops = ops{s: s, tx: t, q: q}
	run := func() {
		defer func() { r.panicked = recover() }()
		r.err = r.fn(t)
	}
	if alone {
		run()
		return t, nil
	}
	ctx := context.Background()
	if _, err := q.ExecContext(ctx, "SAVEPOINT fn"); err != nil {
		return nil, err
	}
	run()
	if r.err != nil || r.panicked != nil {
		if _, err := q.ExecContext(ctx, "ROLLBACK TO fn"); err != nil {
			return t, err
		}
	}
	_, err := q.ExecContext(ctx, "RELEASE fn")
	return t, err
}
