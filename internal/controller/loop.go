package controller

import (
	"context"
	"errors"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// maxImmediate bounds how many plans in a row the loop runs without waiting,
// so a plan that keeps changing records cannot spin.
const maxImmediate = 20

// loop reconciles one service until ctx is done.
func (c *Controller) loop(ctx context.Context, serviceID int64, wake <-chan struct{}) {
	immediate := 0
	for {
		wait, err := c.iterate(ctx, serviceID)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrNotFound):
			if c.endLoop(serviceID, wake) {
				c.log.Info("service gone; its loop ends", "service_id", serviceID)
				return
			}
			continue // its id was reused by a new service
		case errors.Is(err, errStale):
			wait = 0
		case err != nil:
			c.log.Error("reconciling", "service_id", serviceID, "err", err)
			wait = idlePoll
		}
		if wait == 0 && immediate < maxImmediate {
			immediate++
			continue
		}
		immediate = 0
		wait = max(wait, 10*time.Millisecond)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// iterate runs one snapshot → reconcile → record → perform round and
// returns how long to wait before the next one (0: at once).
func (c *Controller) iterate(ctx context.Context, serviceID int64) (time.Duration, error) {
	sn, err := c.snapshot(ctx, serviceID)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.seen[serviceID] = sn.state // read-only from here on: Reconcile copies what it orders
	c.mu.Unlock()
	plan := deploy.Reconcile(sn.state)
	rec, err := c.record(ctx, sn, plan)
	if err != nil {
		return 0, err
	}
	c.send(ctx, rec.notices...)
	c.perform(ctx, sn, plan, rec)
	switch {
	case rec.ended:
		c.retainLater()
	case len(rec.forgotten) > 0:
		c.retainSoon()
	}
	next := c.analysisDue(ctx, sn)
	if rec.changed {
		return 0, nil
	}
	wait := idlePoll
	if busySnapshot(sn) {
		wait = busyPoll
	}
	if !plan.Wake.IsZero() {
		wait = min(wait, max(plan.Wake.Sub(sn.state.Now), 0))
	}
	if next >= 0 {
		wait = min(wait, next)
	}
	return wait, nil
}

// busySnapshot reports whether anything is in flight: a deployment, or a
// task not yet settled, whose next change the loop must see soon.
func busySnapshot(sn *snapshot) bool {
	if len(sn.deps) > 0 || len(sn.strays) > 0 {
		return true
	}
	for _, t := range sn.state.Tasks {
		if t.State != deploy.TaskHealthy {
			return true
		}
	}
	return false
}

// perform starts the effects of plan, each in its own goroutine.
func (c *Controller) perform(ctx context.Context, sn *snapshot, plan deploy.Plan, rec recorded) {
	id := sn.svc.ID
	for _, a := range plan.Actions {
		switch a := a.(type) {
		case deploy.SetWeights:
			// At once, in the loop: a rollback is this one router call.
			c.setWeights(ctx, sn, a.Weights)
		case deploy.SetRules:
			svc, rev := sn.svc, sn.routerRev
			c.spawn(ctx, id, "rules:"+routerName(svc), func(ctx context.Context) { c.setRules(ctx, svc, rev, a.TestGroup) })
		case deploy.RunHook:
			svc := sn.svc
			key := "hook:" + string(a.Hook) + ":" + a.Deployment + ":" + a.Task
			if a.Hook != deploy.HookLaunch {
				key = "hook:" + string(a.Hook) + ":" + a.Deployment
			}
			c.spawn(ctx, id, key, func(ctx context.Context) { c.runHook(ctx, svc, a) })
		case deploy.StartTask:
			c.launches.begin(id)
			if !c.spawnSettling(ctx, id, a.ID, func(ctx context.Context) bool {
				defer c.launches.end(id)
				l, ok := c.start(ctx, id, a.ID, a.Register)
				return ok && a.Register != "" && c.registerLaunched(ctx, l, a.Register)
			}) {
				c.launches.end(id)
			}
		case deploy.RegisterTask:
			if sn.groups[a.ID] == a.Group || c.registeredSince(a.ID, sn.at) {
				continue // restated only: it is in the router already
			}
			c.spawnSettling(ctx, id, a.ID, func(ctx context.Context) bool { return c.register(ctx, id, a.ID, a.Group) })
		case deploy.StopTask:
			// A stopped task changes what the loop decides only when it
			// was the last one leaving (a deployment may end then); the
			// others are forgotten in that pass, or in any earlier one.
			// So a rolling batch's stops wake the loop once, not once each.
			group := sn.groups[a.ID]
			c.stops.begin(id)
			if !c.spawnSettling(ctx, id, a.ID, func(ctx context.Context) bool {
				done := c.stopIn(ctx, id, a.ID, group)
				return !c.stops.end(id) && done
			}) {
				c.stops.end(id)
			}
		case deploy.ForgetTask:
			if row, ok := rec.forgotten[a.ID]; ok {
				// The row is deleted already: what forget cleans up leaves
				// the loop nothing to decide.
				c.spawnSettling(ctx, id, a.ID, func(ctx context.Context) bool { c.forget(ctx, row); return true })
			}
		}
	}
	for _, t := range sn.strays {
		svc, group := sn.svc, sn.groups[t]
		c.spawn(ctx, id, "stray:"+t, func(ctx context.Context) { c.removeStray(ctx, svc, t, group) })
	}
	if rev := sn.routerRev; rev != 0 && c.routerHas(id) != rev {
		svc := sn.svc
		c.spawn(ctx, id, "router:"+routerName(svc), func(ctx context.Context) {
			if spec, err := c.spec(ctx, id, rev); err == nil {
				c.putService(ctx, svc, spec, rev)
			}
		})
	}
}
