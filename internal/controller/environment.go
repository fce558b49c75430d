package controller

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/router/api"
	routerclient "github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/store"
)

// serviceDeleter is the router call DestroyEnvironment needs besides
// RouterClient's; *client.Client has it.
type serviceDeleter interface {
	DeleteService(ctx context.Context, name string) (api.DrainResult, error)
}

// destroyPoll is how often DestroyEnvironment looks whether the stops it
// asked for are done.
const destroyPoll = 50 * time.Millisecond

// DestroyEnvironment removes app/env (a preview): every service is scaled
// to 0 and every live task taken through the stop effect (deregister and
// drain, pre_stop, stop signal and timeout), then the router services, the
// release directories no other revision uses, and the rows go. It returns
// once all of that is done; an environment that is not there is success,
// and a call cut short can be repeated. Only a preview environment is
// destroyed: a long-lived one of the same name is refused, untouched.
func (c *Controller) DestroyEnvironment(ctx context.Context, app, env string) error {
	return failure("destroy "+app+"/"+env, masker{}, c.destroyEnvironment(ctx, app, env))
}

func (c *Controller) destroyEnvironment(ctx context.Context, app, env string) error {
	e, err := c.d.Store.GetEnvironment(ctx, app, env)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return internal("reading the environment", err)
	case e.Kind != store.EnvPreview:
		return conflictf("environment %s/%s is a %s environment, not a preview: it is not destroyed", app, env, e.Kind)
	}
	svcs, err := c.d.Store.ListServices(ctx, store.ServiceFilter{App: app, Env: env})
	if err != nil {
		return internal("listing the services", err)
	}
	reason := "environment " + env + " destroyed"
	var stopping []store.Task
	digests := map[string]bool{}
	err = c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		stopping = nil
		zero := 0
		for _, s := range svcs {
			if _, err := tx.SetScale(ctx, s.ID, &zero); err != nil {
				return err
			}
			revs, err := tx.ListRevisions(ctx, s.ID, 0)
			if err != nil {
				return err
			}
			for _, r := range revs {
				digests[r.ArtifactDigest] = true
			}
			live, err := tx.ListTasks(ctx, store.TaskFilter{ServiceID: s.ID, Live: true})
			if err != nil {
				return err
			}
			for _, t := range live {
				switch {
				case t.State == store.TaskFailed:
					t.State = store.TaskStopping // exited: nothing to drain or hook
				case t.State == store.TaskPending || isLaunched(t.State):
					t.State = store.TaskDraining
				}
				t.StopReason = reason
				if t, err = tx.UpdateTask(ctx, t); err != nil {
					return err
				}
				stopping = append(stopping, t)
			}
		}
		return nil
	})
	if err != nil {
		return internal("recording the tasks to stop", err)
	}
	// The loops see count 0 and may take a task through the stop effect
	// themselves; spawn runs one effect per task, so they never both act.
	for _, t := range stopping {
		c.spawn(ctx, t.ServiceID, t.ID, func(ctx context.Context) { c.stop(ctx, t.ServiceID, t.ID) })
	}
	if err := c.awaitStopped(ctx, stopping); err != nil {
		return err
	}
	if err := c.deleteRouterServices(ctx, svcs); err != nil {
		return err
	}
	if err := c.d.Store.DeleteEnvironment(ctx, app, env); err != nil && !errors.Is(err, store.ErrNotFound) {
		return internal("deleting the environment's records", err)
	}
	c.mu.Lock()
	for _, s := range svcs {
		c.forgetService(s.ID)
	}
	c.mu.Unlock()
	for _, s := range svcs {
		if err := c.d.Store.DeleteMeta(ctx, execStateKey(s.ID)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return internal("deleting the services' state", err)
		}
	}
	return c.removeUnusedReleases(ctx, digests)
}

// deleteRouterServices takes the services out of the router. putMu keeps
// a loop from putting one back meanwhile; what it recorded as put stays,
// so a loop still running until the rows go does not put it again.
func (c *Controller) deleteRouterServices(ctx context.Context, svcs []store.Service) error {
	del, ok := c.d.Router.(serviceDeleter)
	if !ok {
		return nil
	}
	c.putMu.Lock()
	defer c.putMu.Unlock()
	for _, s := range svcs {
		if _, err := del.DeleteService(ctx, routerName(s)); err != nil && !errors.Is(err, routerclient.ErrNotFound) {
			return internal("removing "+routerName(s)+" from the router", err)
		}
	}
	return nil
}

// forgetService drops what the controller cached of a deleted service:
// SQLite hands its id to the next new service, which must not inherit the
// revision specs, router state or metric samples of the old one. The caller holds c.mu.
func (c *Controller) forgetService(serviceID int64) {
	delete(c.put, serviceID)
	delete(c.tests, serviceID)
	delete(c.sampled, serviceID)
	delete(c.seen, serviceID)
	for k := range c.specs {
		if k.service == serviceID {
			delete(c.specs, k)
		}
	}
}

// endLoop is called by the loop of a service whose rows are gone. It
// forgets the service and its loop and returns true, unless the service
// was notified meanwhile — its id already taken by a new service — in which
// case the loop must go on (false).
func (c *Controller) endLoop(serviceID int64, wake <-chan struct{}) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetService(serviceID)
	select {
	case <-wake:
		return false
	default:
	}
	delete(c.loops, serviceID)
	return true
}

// awaitStopped waits until every task in tasks is stopped or gone.
func (c *Controller) awaitStopped(ctx context.Context, tasks []store.Task) error {
	t := time.NewTicker(destroyPoll)
	defer t.Stop()
	for {
		left := 0
		for _, task := range tasks {
			cur, err := c.d.Store.GetTask(ctx, task.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return internal("reading the stopping tasks", err)
			case cur.State != store.TaskStopped:
				left++
				// An effect cut short (a router that did not answer) is
				// asked for again; spawn ignores it while one runs.
				c.spawn(ctx, cur.ServiceID, cur.ID, func(ctx context.Context) { c.stop(ctx, cur.ServiceID, cur.ID) })
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d tasks still stopping: %w", left, ctx.Err())
		case <-t.C:
		}
	}
}

// removeUnusedReleases removes the release directories of digests that no
// revision uses any more. The archives stay for retention to judge: a
// cached build may deploy them again.
func (c *Controller) removeUnusedReleases(ctx context.Context, digests map[string]bool) error {
	c.retainMu.Lock()
	defer c.retainMu.Unlock()
	svcs, err := c.d.Store.ListServices(ctx, store.ServiceFilter{})
	if err != nil {
		return internal("listing the services", err)
	}
	for _, s := range svcs {
		revs, err := c.d.Store.ListRevisions(ctx, s.ID, 0)
		if err != nil {
			return internal("listing revisions", err)
		}
		for _, r := range revs {
			delete(digests, r.ArtifactDigest)
		}
	}
	for d := range digests {
		h, err := artifact.ParseDigest(d)
		if err != nil {
			continue
		}
		if err := artifact.ForceRemove(filepath.Join(c.d.Home.ReleasesDir(), h)); err != nil {
			return internal("removing the release directory of "+d, err)
		}
	}
	return nil
}
