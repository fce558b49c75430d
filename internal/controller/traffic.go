package controller

import (
	"context"

	"github.com/ferrycd/ferry/internal/store"
)

// setWeights applies the engine's split in one router call: the named
// groups get their weight, every other group the router has gets 0.
func (c *Controller) setWeights(ctx context.Context, sn *snapshot, weights map[string]int) {
	if c.d.Router == nil {
		return
	}
	all := map[string]int{}
	if rv := sn.state.Router; rv != nil {
		for g := range rv.Weights {
			all[g] = 0
		}
	}
	for g, w := range weights {
		all[g] = w
	}
	if err := c.d.Router.SetWeights(ctx, routerName(sn.svc), all); err != nil {
		c.log.Warn("setting the router's weights; will retry", "service", routerName(sn.svc), "err", err)
	}
}

// setRules points the service's test-route rules at group ("": none) by
// putting the service's router config again with them.
func (c *Controller) setRules(ctx context.Context, svc store.Service, rev int, group string) {
	if rev == 0 {
		rev = svc.LiveRevision
	}
	spec, err := c.spec(ctx, svc.ID, rev)
	if err != nil || c.d.Router == nil {
		return
	}
	c.mu.Lock()
	c.tests[svc.ID] = group
	c.mu.Unlock()
	c.putService(ctx, svc, spec, rev)
}
