package controller

import (
	"context"
	"sync"
	"time"
)

// launchFirst bounds how long a stop waits for its service's launches
// before it deregisters and signals its task anyway.
const launchFirst = time.Second

// inflight counts, per service, effects of one kind under way: task starts
// (a launch and the registration right after it), which stops let go
// first, and stops, of which only the last wakes the loop. The zero value
// is ready.
type inflight struct {
	mu   sync.Mutex
	n    map[int64]int
	idle map[int64]chan struct{} // closed when n drops to 0
}

// begin counts an effect on service id; end must follow.
func (l *inflight) begin(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n, l.idle = map[int64]int{}, map[int64]chan struct{}{}
	}
	if l.n[id] == 0 {
		l.idle[id] = make(chan struct{})
	}
	l.n[id]++
}

// end counts an effect on service id done; last reports whether none is
// left under way.
func (l *inflight) end(id int64) (last bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[id]--; l.n[id] == 0 {
		close(l.idle[id])
		delete(l.n, id)
		delete(l.idle, id)
		return true
	}
	return false
}

// wait returns once no effect on service id is under way, after at most
// max, or when ctx ends.
func (l *inflight) wait(ctx context.Context, id int64, max time.Duration) {
	l.mu.Lock()
	idle := l.idle[id]
	l.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}
