package router

import (
	"sync"
	"time"
)

// A router restarted from its state file (after a crash, say) knows its
// table but not whether the targets are still up, so every restored target
// starts in "initial" and is checked at once. One the file recorded as
// healthy is re-admitted by that first passing check. Until that check
// completes, a request that finds no usable group in its service, while
// some of the service's targets await it, is held rather than answered 503:
// the wait lasts at most until the check completes, and in any case no
// longer than the grace that started with the router (the longest health
// check timeout among restored targets); then the usual rules apply (fail
// open, or 503).

// warmup wakes held requests as restored targets' first checks complete.
// Its zero value holds nothing.
type warmup struct {
	until time.Time // end of the grace; zero when nothing was restored healthy
	mu    sync.Mutex
	ch    chan struct{} // closed, and replaced, when a first check completes
}

// start opens a grace of d from now; d <= 0 opens none.
func (w *warmup) start(d time.Duration) {
	if d <= 0 {
		return
	}
	w.mu.Lock()
	w.until = time.Now().Add(d)
	w.ch = make(chan struct{})
	w.mu.Unlock()
}

// next returns a channel closed when the next first check completes, and
// the end of the grace; nil once the grace is over.
func (w *warmup) next() (<-chan struct{}, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil || !time.Now().Before(w.until) {
		return nil, time.Time{}
	}
	return w.ch, w.until
}

func (w *warmup) checked() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = make(chan struct{})
	}
	w.mu.Unlock()
}

// firstChecked is the healthListener's: a restored target's first check
// completed.
func (rt *Router) firstChecked() { rt.warm.checked() }

// awaitRestored is called for a request that found no usable group in v.
// While the grace lasts and some target of v awaits its re-confirming first
// check, it waits for one such check (or until done is closed) and returns
// the service's current view to pick from again; nil when there is nothing
// to wait for.
func (rt *Router) awaitRestored(done <-chan struct{}, v *serviceView, host, path string) *serviceView {
	ch, until := rt.warm.next() // before looking: a check completing meanwhile closes ch
	if ch == nil || !v.reconfirming() {
		return nil
	}
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
	case <-done:
		return nil
	}
	return rt.table.Load().lookup(host, path)
}

// reconfirming: some target of the service awaits its first check after a
// restore as healthy.
func (v *serviceView) reconfirming() bool {
	for i := range v.groups {
		for _, t := range v.groups[i].targets {
			if t.reconfirm.Load() {
				return true
			}
		}
	}
	return false
}
