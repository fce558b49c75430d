package router

import (
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// drain takes t out of rotation (the caller already published a table
// without it), waits for its in-flight requests up to timeout, then cuts
// whatever is left and stops its health checks. It returns as soon as no
// request is in flight: kamal-proxy's contract.
func (t *target) drain(timeout time.Duration) api.DrainResult {
	start := time.Now()
	t.state.Store(stDraining)
	t.stopChecks()
	done0 := t.finished.Load()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	cut := 0
wait:
	for {
		// closed is set before the final look at inflight so that a request
		// admitted concurrently is either refused or seen here.
		if t.inflight.Load() == 0 {
			t.closed.Store(true)
			if t.inflight.Load() == 0 {
				break
			}
		}
		select {
		case <-t.idle:
		case <-deadline.C:
			t.closed.Store(true)
			cut = int(t.inflight.Load())
			break wait
		}
	}
	t.pool.closeAll()
	t.conns.closeAll()
	t.transport.CloseIdleConnections()
	drained := int(t.finished.Load() - done0)
	return api.DrainResult{Drained: drained, Cut: cut, Duration: time.Since(start)}
}

// addDrain sums drain results of targets drained together.
func addDrain(a, b api.DrainResult) api.DrainResult {
	a.Drained += b.Drained
	a.Cut += b.Cut
	if b.Duration > a.Duration {
		a.Duration = b.Duration
	}
	return a
}
