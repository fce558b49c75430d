package controller

import (
	"context"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// HealthWatcher is what a RouterClient may also do: long-poll for targets'
// health transitions, so that a loop waiting on a new task's health runs
// when it turns rather than at its next poll. *client.Client does; without
// it the loops' polls alone see the transitions.
type HealthWatcher interface {
	HealthChanges(ctx context.Context, since uint64, wait time.Duration) (api.HealthChanges, error)
}

// healthWait is how long one long poll waits; the router bounds it.
const healthWait = time.Minute

// watchHealth calls wake with the router name of every service whose
// targets changed health, until ctx is done. While the router cannot be
// asked it retries with a backoff; the loops' polls cover the gap.
func watchHealth(ctx context.Context, w HealthWatcher, wake func(service string)) {
	var since uint64
	var retry time.Duration
	for {
		hc, err := w.HealthChanges(ctx, since, healthWait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			retry = min(max(2*retry, 50*time.Millisecond), 2*time.Second)
			t := time.NewTimer(retry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		retry, since = 0, hc.Version
		for _, name := range hc.Services {
			wake(name)
		}
	}
}

// notifyRouted wakes the loop of the service whose config was put in the
// router under name.
func (c *Controller) notifyRouted(name string) {
	c.mu.Lock()
	id, ok := c.routed[name]
	c.mu.Unlock()
	if ok {
		c.Notify(id)
	}
}
