package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// ServiceStatus is one service as `ferry status` shows it.
type ServiceStatus struct {
	App, Environment, Service string
	ServiceID                 int64
	Count                     int
	Live                      int
	// State is "crash_loop" while the live revision keeps crashing.
	State, Message string
	Crashes        int
	Tasks          []TaskStatus
	// Deployment is the deployment in flight, or else the latest one; nil
	// when there was none.
	Deployment *deploy.Progress
}

// TaskStatus is one task as `ferry status` shows it.
type TaskStatus struct {
	ID           string
	Revision     int
	State        string
	Addr         string
	StartedAt    time.Time
	HealthySince time.Time
	LastError    string
}

// Status reports every service of app in env (env "" means all), secret
// values masked out of every message.
func (c *Controller) Status(ctx context.Context, app, env string) ([]ServiceStatus, error) {
	svcs, err := c.d.Store.ListServices(ctx, store.ServiceFilter{App: app, Env: env})
	if err != nil {
		return nil, failure("status: listing services", masker{}, err)
	}
	out := make([]ServiceStatus, 0, len(svcs))
	for _, s := range svcs {
		st, err := c.serviceStatus(ctx, s.ID)
		if err != nil {
			return nil, failure("status of "+routerName(s), masker{}, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func (c *Controller) serviceStatus(ctx context.Context, serviceID int64) (ServiceStatus, error) {
	sn, err := c.snapshot(ctx, serviceID)
	if err != nil {
		return ServiceStatus{}, err
	}
	s := sn.svc
	m := c.maskerFor(ctx, sn)
	out := ServiceStatus{App: s.App, Environment: s.Env, Service: s.Name, ServiceID: s.ID, Count: s.Count(),
		Live: s.LiveRevision, State: s.State, Message: m.mask(s.Message), Crashes: sn.exec.Status.Crashes}
	for _, t := range sn.state.Tasks {
		row := sn.rows[t.ID]
		out.Tasks = append(out.Tasks, TaskStatus{ID: t.ID, Revision: t.Revision, State: string(t.State), Addr: row.Addr,
			StartedAt: row.StartedAt, HealthySince: t.HealthySince, LastError: m.mask(row.LastError)})
	}
	d, err := c.d.Store.LatestDeployment(ctx, serviceID)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	dd, err := decodeDeployment(d)
	if err != nil {
		return out, err
	}
	p := deploy.Summarize(sn.state, dd)
	p.Deployment, p.Reason = depID(d.ID), m.mask(p.Reason)
	out.Deployment = &p
	return out, nil
}

// DeploymentError is WaitDeployment's answer for a deployment that ended
// without going live.
type DeploymentError struct {
	ID     int64
	State  string // rolled_back, failed, superseded
	Reason string
}

func (e *DeploymentError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("deployment %d %s", e.ID, e.State)
	}
	return fmt.Sprintf("deployment %d %s: %s", e.ID, e.State, e.Reason)
}

// progressEvery is the least time between two progress reports of
// WaitDeployment: computing one reads the whole service, and a deployment of
// many tasks records events faster than anyone reads them. The terminal
// state is reported at once.
const progressEvery = 100 * time.Millisecond

// WaitDeployment calls progress when deployment id changes, at most every
// progressEvery, until it ends: nil once it succeeded, a *DeploymentError
// when it was rolled back, failed or superseded, ctx's error when ctx ends
// first.
func (c *Controller) WaitDeployment(ctx context.Context, id int64, progress func(deploy.Progress)) error {
	events, cancel := c.d.Store.Subscribe()
	defer cancel()
	tick := time.NewTicker(busyPoll)
	defer tick.Stop()
	catchUp := time.NewTimer(0) // reports a change held back by progressEvery
	catchUp.Stop()
	defer catchUp.Stop()
	last := ""
	var computed time.Time
	for {
		d, err := c.d.Store.GetDeployment(ctx, id)
		if err != nil {
			return err
		}
		done := d.State.Terminal()
		behind := false // a change not reported yet
		if progress != nil {
			if done || time.Since(computed) >= progressEvery {
				p, err := c.progress(ctx, d)
				if err == nil && p.String() != last {
					last = p.String()
					progress(p)
				}
				// After the report, not before it: reports are progressEvery
				// apart however long computing and making one took.
				computed = time.Now()
			} else {
				behind = true
			}
		}
		switch d.State {
		case store.DeploySucceeded:
			return nil
		case store.DeployRolledBack, store.DeployFailed, store.DeploySuperseded, store.DeployAborted:
			return &DeploymentError{ID: id, State: string(d.State), Reason: d.Reason}
		}
		var due <-chan time.Time
		if behind {
			catchUp.Reset(progressEvery - time.Since(computed))
			due = catchUp.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-events:
		case <-tick.C:
		case <-due:
		}
		catchUp.Stop()
	}
}

// progress summarises deployment d. While it runs, the service is as its
// loop last saw it: reading the service afresh at every report (a router
// call and a query per table) cost a deploy of 50 tasks a tenth of the
// server's CPU, beside the passes that read it anyway. The final report,
// and one for a service no loop has passed over yet, read it afresh.
func (c *Controller) progress(ctx context.Context, d store.Deployment) (deploy.Progress, error) {
	dd, err := decodeDeployment(d)
	if err != nil {
		return deploy.Progress{}, err
	}
	if !d.State.Terminal() {
		c.mu.Lock()
		st, ok := c.seen[d.ServiceID]
		c.mu.Unlock()
		if ok {
			return deploy.Summarize(st, dd), nil
		}
	}
	sn, err := c.viewSnapshot(ctx, d.ServiceID)
	if err != nil {
		return deploy.Progress{}, err
	}
	return deploy.Summarize(sn.state, dd), nil
}
