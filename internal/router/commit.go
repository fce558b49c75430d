package router

// Group commit. A change through the admin API is written to the state file
// before it is published, and the write ends with an fsync that costs
// milliseconds. Changes arriving together (a batch of tasks registering)
// share one write: the first caller becomes the leader and writes a snapshot
// covering every change applied so far, the others wait for the write that
// covers theirs. rt.mu is released during the write, so changes keep being
// applied (not yet published) while it runs; the leader writes again until
// none is left.

// pendingChange is a change applied to rt.services, not yet written.
type pendingChange struct {
	undo func()
	done chan error // capacity 1
}

// commit makes the change its caller made to rt.services durable, then
// visible: it builds the new table (a route conflict refuses the change),
// waits for the state file to hold it, and only then is the table
// published. If the write fails, this change and every change applied
// after it are undone, newest first, and all of them fail: a change is
// either saved and applied or not applied at all, so a router restarted
// later never loads a table older than the one it served.
//
// Callers hold rt.mu; commit releases it while the file is written and
// holds it again when it returns, so anything the caller read before may
// have changed since (present checks what still is).
func (rt *Router) commit(undo func()) error {
	t, err := rt.buildTable()
	if err != nil {
		undo()
		return err
	}
	if rt.opts.StatePath == "" {
		rt.table.Store(t)
		return nil
	}
	c := &pendingChange{undo: undo, done: make(chan error, 1)}
	rt.pending = append(rt.pending, c)
	rt.pendingTable = t
	if !rt.flushing {
		rt.flushing, rt.flushed = true, make(chan struct{})
		rt.flush()
		return <-c.done
	}
	rt.mu.Unlock()
	err = <-c.done // a leader's write covers it
	rt.mu.Lock()
	return err
}

// flush writes snapshots until no change is pending, then ends the
// leadership. Called with rt.mu held; it releases rt.mu during each write.
func (rt *Router) flush() {
	for len(rt.pending) > 0 {
		batch, t := rt.pending, rt.pendingTable
		rt.pending, rt.pendingTable = nil, nil
		gen, st := rt.numberedSnapshot()
		rt.mu.Unlock()
		err := rt.file.write(rt.opts.StatePath, gen, st)
		rt.mu.Lock()
		if err != nil {
			err = storageError(rt.opts.StatePath, err)
			rt.log.Error("router: change refused", "err", err, "changes", len(batch)+len(rt.pending))
			// Changes applied during the write sit on top of this batch:
			// undo them first, then the batch.
			all := append(batch, rt.pending...)
			rt.pending, rt.pendingTable = nil, nil
			for i := len(all) - 1; i >= 0; i-- {
				all[i].undo()
				all[i].done <- err
			}
			break
		}
		rt.table.Store(t)
		for _, c := range batch {
			c.done <- nil
		}
	}
	rt.flushing = false
	close(rt.flushed)
	if rt.healthDeferred {
		rt.healthDeferred = false
		rt.healthChanged()
	}
}

// numberedSnapshot captures the table with the next generation number,
// which orders it for stateFile. Callers hold rt.mu.
func (rt *Router) numberedSnapshot() (uint64, state) {
	rt.gen++
	return rt.gen, rt.snapshotState()
}

// awaitFlushed waits, with rt.mu held on entry and on return, until no
// leader is writing: every change applied so far is then saved or undone.
func (rt *Router) awaitFlushed() {
	for rt.flushing {
		ch := rt.flushed
		rt.mu.Unlock()
		<-ch
		rt.mu.Lock()
	}
}

// present returns the targets of ts still in group g of s: commit lets
// other changes run, and one may have removed them.
func (rt *Router) present(s *service, g *group, ts []*target) []*target {
	if rt.services[s.cfg.Name] != s || s.group(g.name) != g {
		return nil
	}
	var out []*target
	for _, t := range ts {
		if g.target(t.id) == t {
			out = append(out, t)
		}
	}
	return out
}
