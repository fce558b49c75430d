package controller

import (
	"context"
	"sync"
	"time"
)

// launchFirst bounds how long a stop waits for its service's launches
// before it signals its task anyway.
const launchFirst = time.Second

// launches counts, per service, the task starts under way (a launch and
// the registration right after it), so that stops can let them go first.
// The zero value is ready.
type launches struct {
	mu   sync.Mutex
	n    map[int64]int
	idle map[int64]chan struct{} // closed when n drops to 0
}

// begin counts a start of service id; end must follow.
func (l *launches) begin(id int64) {
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

func (l *launches) end(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[id]--; l.n[id] == 0 {
		close(l.idle[id])
		delete(l.n, id)
		delete(l.idle, id)
	}
}

// wait returns once no start of service id is under way, after at most max,
// or when ctx ends.
func (l *launches) wait(ctx context.Context, id int64, max time.Duration) {
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
