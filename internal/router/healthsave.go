package router

import (
	"fmt"
	"sync"
	"time"
)

// healthSaver writes the state file again when a target's health changes,
// so that a router restarted after a crash knows which targets were
// healthy (restore.go). Changes coalesce: one write covers all that came
// before it. A write that fails (a full disk) is retried every
// healthRetry; health is advisory, so nothing else waits for it. Its zero
// value saves nothing.
type healthSaver struct {
	dirty chan struct{} // capacity 1: a write is due
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

const healthRetry = time.Second

// start saves rt's state on each health change until stop.
func (h *healthSaver) start(rt *Router) {
	h.dirty = make(chan struct{}, 1)
	h.quit = make(chan struct{})
	h.done = make(chan struct{})
	go h.run(rt)
}

// changed notes a write is due; it never blocks a health check.
func (h *healthSaver) changed() {
	if h.dirty == nil {
		return
	}
	select {
	case h.dirty <- struct{}{}:
	default:
	}
}

// stop ends the saver after writing a change not yet saved.
func (h *healthSaver) stop() {
	if h.quit == nil {
		return
	}
	h.once.Do(func() { close(h.quit) })
	<-h.done
}

func (h *healthSaver) run(rt *Router) {
	defer close(h.done)
	var retry <-chan time.Time
	failing := false
	for {
		select {
		case <-h.quit:
			select {
			case <-h.dirty:
				rt.saveHealth()
			default:
			}
			return
		case <-h.dirty:
		case <-retry:
		}
		retry = nil
		err := rt.saveHealth()
		switch {
		case err != nil:
			if !failing {
				rt.log.Warn("router: saving targets' health; retrying", "err", err)
			}
			failing = true
			retry = time.After(healthRetry)
		case failing:
			rt.log.Info("router: targets' health saved again", "path", rt.opts.StatePath)
			failing = false
		}
	}
}

// healthChanged is the healthListener's: a target changed health.
func (rt *Router) healthChanged() { rt.saver.changed() }

// saveHealth writes the state file with the current health, unless the
// router has handed its table (and its file) to a successor. Only the
// snapshot is taken under rt.mu: the write happens outside it, so admin
// calls never queue behind a health write's fsync; stateFile orders it
// with the writes of changes.
func (rt *Router) saveHealth() error {
	rt.mu.Lock()
	if rt.frozen {
		rt.mu.Unlock()
		return nil
	}
	if rt.flushing {
		// The snapshot would hold changes not yet written, which may
		// still be undone; the leader's write saves the health, and asks
		// again when it is done.
		rt.healthDeferred = true
		rt.mu.Unlock()
		return nil
	}
	gen, st := rt.numberedSnapshot()
	rt.mu.Unlock()
	if err := rt.file.write(rt.opts.StatePath, gen, st); err != nil {
		return fmt.Errorf("router state %s: %w", rt.opts.StatePath, err)
	}
	return nil
}
