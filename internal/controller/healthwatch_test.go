package controller

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// scriptedWatcher answers HealthChanges from a script, recording each since
// it was asked; after the script it waits for ctx.
type scriptedWatcher struct {
	mu      sync.Mutex
	replies []watchReply
	asked   []uint64
}

type watchReply struct {
	hc  api.HealthChanges
	err error
}

func (w *scriptedWatcher) HealthChanges(ctx context.Context, since uint64, wait time.Duration) (api.HealthChanges, error) {
	w.mu.Lock()
	w.asked = append(w.asked, since)
	if len(w.replies) > 0 {
		r := w.replies[0]
		w.replies = w.replies[1:]
		w.mu.Unlock()
		return r.hc, r.err
	}
	w.mu.Unlock()
	<-ctx.Done()
	return api.HealthChanges{}, ctx.Err()
}

func TestWatchHealth(t *testing.T) {
	w := &scriptedWatcher{replies: []watchReply{
		{hc: api.HealthChanges{Version: 3, Services: []string{"a/p/web", "b/p/api"}}},
		{err: errors.New("router at /x: connection refused")},
		{err: errors.New("router at /x: connection refused")},
		{hc: api.HealthChanges{Version: 1, Services: []string{"a/p/web"}}}, // a restarted router
		{hc: api.HealthChanges{Version: 2}},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	woken := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchHealth(ctx, w, func(s string) { woken <- s })
	}()
	var got []string
	for len(got) < 3 {
		select {
		case s := <-woken:
			got = append(got, s)
		case <-time.After(10 * time.Second):
			t.Fatalf("woken %v, want three wakes", got)
		}
	}
	if want := []string{"a/p/web", "b/p/api", "a/p/web"}; !slices.Equal(got, want) {
		t.Fatalf("woken %v, want %v", got, want)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.asked) == 6, "the watcher asking again after the script"
	})
	cancel()
	<-done
	// Each call asks from the version the previous answer gave; a failed
	// call asks again from the same one.
	if want := []uint64{0, 3, 3, 3, 1, 2}; !slices.Equal(w.asked, want) {
		t.Fatalf("asked since %v, want %v", w.asked, want)
	}
}
