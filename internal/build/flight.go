package build

import (
	"context"
	"slices"
	"sync"
)

// flights shares one build among concurrent callers in this process that ask
// for the same thing; other processes are kept apart by the step locks.
var flights flightGroup

type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	res  Result
	err  error
}

// do runs fn once per key at a time; callers arriving while it runs wait for
// its result (or for their own ctx). fn runs under the first caller's ctx.
func (g *flightGroup) do(ctx context.Context, key string, fn func() (Result, error)) (Result, error) {
	g.mu.Lock()
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			r := c.res
			r.Steps = slices.Clone(r.Steps)
			return r, c.err
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	if g.calls == nil {
		g.calls = map[string]*flightCall{}
	}
	c := &flightCall{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()

	c.res, c.err = fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(c.done)
	return c.res, c.err
}
