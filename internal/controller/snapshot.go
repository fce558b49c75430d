package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// snapshot is one service as the loop sees it: the engine's input plus what
// the executor needs to record and perform the plan.
type snapshot struct {
	at    time.Time // when reading began
	svc   store.Service
	rows  map[string]store.Task       // as stored
	next  map[string]store.Task       // rows whose observed state changed
	deps  map[string]store.Deployment // unfinished deployments by engine id
	exec  execState
	state deploy.ServiceState
	// strays are router targets of the service no serving or draining
	// task owns; groups maps every router target to its group.
	strays []string
	groups map[string]string
	// routerRev is the revision whose config (routes, health check) the
	// router must have: the one an in-flight deployment moves to now, else
	// the live one; 0 when the service is not routed.
	routerRev int
}

// routerName is the service's name in the router.
func routerName(s store.Service) string { return s.App + "/" + s.Env + "/" + s.Name }

// taskPrefix starts the ids of the service's tasks; ids are single path
// components for the driver, so the parts are joined by dots.
func taskPrefix(s store.Service) string { return deploy.TaskPrefix(s.App, s.Env, s.Name) }

// spec returns revision rev of a service, decoded once.
func (c *Controller) spec(ctx context.Context, serviceID int64, rev int) (RevisionSpec, error) {
	k := revKey{serviceID, rev}
	c.mu.Lock()
	s, ok := c.specs[k]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	r, err := c.d.Store.GetRevision(ctx, serviceID, rev)
	if err != nil {
		return RevisionSpec{}, err
	}
	if err := json.Unmarshal(r.Spec, &s); err != nil {
		return RevisionSpec{}, fmt.Errorf("revision %d of service %d: spec: %w", rev, serviceID, err)
	}
	c.mu.Lock()
	c.specs[k] = s
	c.mu.Unlock()
	return s, nil
}

// snapshot reads a service from the store, the driver and the router.
func (c *Controller) snapshot(ctx context.Context, serviceID int64) (*snapshot, error) {
	return c.read(ctx, serviceID, true)
}

// viewSnapshot is snapshot without asking the driver about every task: a
// task's process is as its row last recorded it. It is for views such as a
// deployment's progress, recomputed at every event of the deployment, which
// would otherwise inspect every process as often as the loop does and slow
// it down.
func (c *Controller) viewSnapshot(ctx context.Context, serviceID int64) (*snapshot, error) {
	return c.read(ctx, serviceID, false)
}

// read is snapshot; it inspects the tasks' processes only when inspect is set.
func (c *Controller) read(ctx context.Context, serviceID int64, inspect bool) (*snapshot, error) {
	at := time.Now()
	svc, err := c.d.Store.GetService(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	rows, err := c.d.Store.ListTasks(ctx, store.TaskFilter{ServiceID: serviceID})
	if err != nil {
		return nil, err
	}
	// The router is asked after the rows are read (ownsTarget relies on
	// that order) and answers while the rest is read and the processes
	// inspected: on a loaded machine its answer waits for the router to
	// get the CPU, the pass need not wait idle meanwhile.
	routed := make(chan routerRead, 1)
	go func() {
		var r routerRead
		r.targets, r.view, r.known = c.routerTargets(ctx, svc)
		routed <- r
	}()
	exec, err := loadExecState(ctx, c.d.Store, serviceID)
	if err != nil {
		return nil, err
	}
	all, err := c.d.Store.ListDeployments(ctx, serviceID, 10)
	if err != nil {
		return nil, err
	}
	sn := &snapshot{at: at, svc: svc, rows: map[string]store.Task{}, next: map[string]store.Task{},
		deps: map[string]store.Deployment{}, exec: exec}
	st := deploy.ServiceState{Service: taskPrefix(svc), Now: c.now(), Count: svc.Count(), Live: svc.LiveRevision,
		Status: exec.Status}
	current, moving := svc.LiveRevision, svc.LiveRevision
	for _, d := range slices.Backward(all) { // oldest first
		if d.State.Terminal() {
			continue
		}
		dd, err := decodeDeployment(d)
		if err != nil {
			return nil, err
		}
		st.Deployments = append(st.Deployments, dd)
		sn.deps[dd.ID] = d
		current, moving = d.ToRevision, d.ToRevision
		if dd.Status.Target != 0 {
			moving = dd.Status.Target
		}
	}
	if current != 0 {
		spec, err := c.spec(ctx, serviceID, current)
		if err != nil {
			return nil, err
		}
		st.Params = spec.params()
	}
	if moving != 0 && c.d.Router != nil {
		spec, err := c.spec(ctx, serviceID, moving)
		if err != nil {
			return nil, err
		}
		if spec.routed() {
			sn.routerRev = moving
		}
	}
	st.Params.Backoff = c.d.Backoff
	if st.Hooks, err = c.hookRuns(ctx, serviceID, sn.deps, rows); err != nil {
		return nil, err
	}
	st.Samples = c.samples(serviceID)

	procs := map[string]*runtime.Status{}
	for _, row := range rows {
		if inspect && row.Handle != "" && isLaunched(row.State) {
			if ps, err := c.driverOf(row).Inspect(ctx, row.Handle); err == nil {
				procs[row.ID] = &ps
			} else {
				c.log.Warn("inspecting task", "task", row.ID, "err", err)
			}
		}
	}
	r := <-routed
	target := r.targets
	st.Router = r.view
	sn.groups = map[string]string{}
	for id, tg := range target {
		sn.groups[id] = tg.group
	}
	owned := map[string]bool{}
	for _, row := range rows {
		sn.rows[row.ID] = row
		spec, err := c.spec(ctx, serviceID, row.Revision)
		if err != nil {
			return nil, err
		}
		v := view{routed: spec.routed() && c.d.Router != nil, routerKnown: r.known, proc: procs[row.ID]}
		tg, registered := target[row.ID]
		if registered {
			v.target = &tg.TargetStatus
		}
		t, next, changed := observe(row, v, st.Now)
		if registered {
			t.Group = tg.group
		}
		if changed {
			sn.next[row.ID] = next
		}
		if ownsTarget(next.State) {
			owned[row.ID] = true
		}
		st.Tasks = append(st.Tasks, t)
	}
	for id := range target {
		if !owned[id] {
			sn.strays = append(sn.strays, id)
		}
	}
	slices.Sort(sn.strays)
	sn.state = st
	return sn, nil
}

// ownsTarget reports whether a task in state s may have a router target
// that is not a stray.
//   - A pending task is being launched: its start registers it right after
//     recording the launch, so a snapshot that read the row before that
//     record and the router after the registration sees a pending task's
//     target. Taking it for a stray removed it, and the next pass added it
//     again with its health checks started afresh: an interval lost.
//   - A draining task's stop removes its own target and waits for the
//     drain: removing it here too would let that stop find it gone and
//     signal the task while requests are still in flight.
func ownsTarget(s store.TaskState) bool {
	return s == store.TaskPending || s == store.TaskDraining || isLaunched(s)
}

// isLaunched states have a process ferry means to keep.
func isLaunched(s store.TaskState) bool {
	switch s {
	case store.TaskStarting, store.TaskRunning, store.TaskHealthy, store.TaskUnhealthy:
		return true
	}
	return false
}

// groupTarget is a router target and the group it is in.
type groupTarget struct {
	api.TargetStatus
	group string
}

// routerRead is what routerTargets returns.
type routerRead struct {
	targets map[string]groupTarget
	view    *deploy.RouterView
	known   bool
}

// routerTargets returns the service's targets by id and the router's
// traffic split; known is false (and the view nil) when the router could
// not be asked.
func (c *Controller) routerTargets(ctx context.Context, svc store.Service) (map[string]groupTarget, *deploy.RouterView, bool) {
	out := map[string]groupTarget{}
	if c.d.Router == nil {
		return out, nil, false
	}
	st, err := c.d.Router.Service(ctx, routerName(svc))
	if errors.Is(err, client.ErrNotFound) {
		return out, &deploy.RouterView{Weights: map[string]int{}}, true
	}
	if err != nil {
		c.log.Warn("router unavailable; keeping the last known health", "service", routerName(svc), "err", err)
		return out, nil, false
	}
	view := &deploy.RouterView{Weights: map[string]int{}}
	for _, g := range st.Groups {
		view.Weights[g.Name] = g.Weight
		for _, t := range g.Targets {
			out[t.ID] = groupTarget{t, g.Name}
		}
	}
	for _, r := range st.Rules {
		view.TestGroup = r.Group
	}
	c.mu.Lock()
	c.tests[svc.ID] = view.TestGroup
	c.mu.Unlock()
	return out, view, true
}
