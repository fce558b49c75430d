package controller

import (
	"context"
	"errors"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/store"
)

// register adds a started task to a router group; the router health-checks
// it and turns it healthy. The service's config is put first when the
// router has none; which revision's config it keeps is the loop's business
// (snapshot.routerRev). It reports whether the router took the task.
func (c *Controller) register(ctx context.Context, serviceID int64, id, group string) bool {
	row, err := c.d.Store.GetTask(ctx, id)
	if err != nil {
		return false
	}
	svc, err := c.d.Store.GetService(ctx, serviceID)
	if err != nil {
		return false
	}
	spec, err := c.spec(ctx, serviceID, row.Revision)
	if err != nil {
		return false
	}
	return c.registerLaunched(ctx, launched{svc: svc, spec: spec, row: row}, group)
}

// registerLaunched is register for a task start just recorded, with what
// start read. A task start registered while it started is traced already.
func (c *Controller) registerLaunched(ctx context.Context, l launched, group string) bool {
	svc, spec, row := l.svc, l.spec, l.row
	if !isLaunched(row.State) || row.Addr == "" || c.d.Router == nil {
		return false
	}
	if l.traced {
		return true
	}
	if !c.addTarget(ctx, svc, spec, row, group, row.Addr) {
		return false
	}
	if err := c.traceRegistered(ctx, c.d.Store, svc, spec, row, group); err != nil {
		c.log.Error("appending event", "type", EventTaskRegistered, "task", row.ID, "err", err)
	}
	return true
}

// traceRegistered writes a task's registered line through w.
func (c *Controller) traceRegistered(ctx context.Context, w eventWriter, svc store.Service, spec RevisionSpec, row store.Task, group string) error {
	return c.eventIn(ctx, w, svc, spec, EventTaskRegistered, row.ID, "%s registered with the router at %s (group %s)", row.ID, row.Addr, group)
}

// addTarget puts task row at addr into a router group, the service's
// config first when the router has none. It reports whether the router
// took the task.
func (c *Controller) addTarget(ctx context.Context, svc store.Service, spec RevisionSpec, row store.Task, group, addr string) bool {
	name := routerName(svc)
	if c.routerHas(svc.ID) == 0 && !c.putService(ctx, svc, spec, row.Revision) {
		return false
	}
	target := api.Target{ID: row.ID, Addr: addr}
	err := c.d.Router.AddTarget(ctx, name, group, target)
	if errors.Is(err, client.ErrNotFound) && c.putService(ctx, svc, spec, row.Revision) {
		err = c.d.Router.AddTarget(ctx, name, group, target)
	}
	if err != nil {
		c.log.Warn("registering a task with the router", "task", row.ID, "err", err)
		return false
	}
	c.mu.Lock()
	c.registered[row.ID] = time.Now()
	c.mu.Unlock()
	return true
}

func (c *Controller) putService(ctx context.Context, svc store.Service, spec RevisionSpec, rev int) bool {
	// One put at a time, so the revision recorded is the one the router
	// got last.
	c.putMu.Lock()
	defer c.putMu.Unlock()
	c.mu.Lock()
	test := c.tests[svc.ID]
	c.mu.Unlock()
	if err := c.d.Router.PutService(ctx, spec.routerService(routerName(svc), test)); err != nil {
		c.log.Warn("putting the service in the router", "service", routerName(svc), "err", err)
		return false
	}
	c.mu.Lock()
	c.put[svc.ID] = rev
	c.routed[routerName(svc)] = svc.ID
	c.mu.Unlock()
	return true
}

// unregistered forgets when task id was registered: it is leaving.
func (c *Controller) unregistered(id string) {
	c.mu.Lock()
	delete(c.registered, id)
	c.mu.Unlock()
}

// registeredSince reports whether task id was added to the router after t.
func (c *Controller) registeredSince(id string, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.registered[id]
	return ok && at.After(t)
}

// routerHas is the revision whose config was last put in the router for a
// service (0: none since this controller started).
func (c *Controller) routerHas(serviceID int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.put[serviceID]
}

// removeStray takes out of the router a target no serving task owns (left
// by a crash, or by a router that kept an old table).
func (c *Controller) removeStray(ctx context.Context, svc store.Service, id, group string) {
	if _, err := c.d.Router.RemoveTarget(ctx, routerName(svc), group, id); err != nil && !errors.Is(err, client.ErrNotFound) {
		c.log.Warn("removing a stray router target", "target", id, "err", err)
	}
}

// isRouted reports whether row's service gets traffic through the router.
func (c *Controller) isRouted(ctx context.Context, row store.Task) (RevisionSpec, bool) {
	spec, err := c.spec(ctx, row.ServiceID, row.Revision)
	return spec, err == nil && spec.routed() && c.d.Router != nil
}
