package router

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// changes numbers targets' health transitions, so that the control plane
// learns of one when it happens (a long poll) rather than at its next poll.
// The zero value is ready.
type changes struct {
	mu       sync.Mutex
	version  uint64
	services map[string]uint64 // service → version of its last transition
	wake     chan struct{}     // closed at the next transition; nil until waited on
	ended    bool              // the router is shutting down: waits end at once
}

// note records a health transition of one of service's targets.
func (c *changes) note(service string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	if c.services == nil {
		c.services = map[string]uint64{}
	}
	c.services[service] = c.version
	if c.wake != nil && !c.ended {
		close(c.wake)
		c.wake = nil
	}
}

// since lists the services with a transition after version since, and a
// channel closed at the next transition. A since ahead of the count (a
// caller that watched a previous router) gets every service seen.
func (c *changes) since(since uint64) (api.HealthChanges, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc := api.HealthChanges{Version: c.version, Services: []string{}}
	for name, v := range c.services {
		if v > since || since > c.version {
			hc.Services = append(hc.Services, name)
		}
	}
	sort.Strings(hc.Services)
	if c.wake == nil {
		c.wake = make(chan struct{})
		if c.ended {
			close(c.wake)
		}
	}
	return hc, c.wake
}

// end answers every wait, now and later, at once: a long poll must not hold
// up the admin server's shutdown.
func (c *changes) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// EndHealthWaits answers every HealthChanges call under way or to come at
// once; a server shutting down the admin API calls it first.
func (rt *Router) EndHealthWaits() { rt.changes.end() }

// HealthChanges returns the services whose targets changed health after
// version since, waiting up to wait (or until ctx ends) for one when there
// is none yet; the reply's Version is the since of the next call.
func (rt *Router) HealthChanges(ctx context.Context, since uint64, wait time.Duration) api.HealthChanges {
	hc, wake := rt.changes.since(since)
	if len(hc.Services) > 0 || wait <= 0 {
		return hc
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-wake:
		hc, _ = rt.changes.since(since)
	case <-t.C:
	case <-ctx.Done():
	}
	return hc
}
