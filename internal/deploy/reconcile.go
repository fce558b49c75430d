package deploy

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Reconcile decides the next actions for one service from its snapshot. It
// is pure and deterministic: the same snapshot (in any task order) yields the
// same plan, so a server that crashed after recording a plan but before
// acting on it re-derives the same effects from the recorded state.
func Reconcile(s ServiceState) Plan {
	p := newPlanner(s)
	d := p.activeDeployment()
	p.account(d)
	p.resetBackoff()
	p.launchHooks(d)
	if d != nil && !d.Status.State.Done() {
		p.advance(d)
	}
	if d == nil || d.Status.State.Done() {
		p.steady()
	}
	p.syncRouter()
	p.restate()
	if p.depDirty {
		p.emit(SetDeployment{ID: d.ID, Status: d.Status})
	}
	if p.svcDirty {
		p.emit(SetService{Status: p.svc})
	}
	return Plan{Actions: p.actions, Wake: p.wake}
}

// planner accumulates one plan. gone holds the tasks this plan stops or
// forgets, so later decisions no longer count them.
type planner struct {
	s        ServiceState
	tasks    []Task
	svc      ServiceStatus
	svcDirty bool
	dep      *Deployment // the deployment in flight, if any
	depDirty bool
	backoff  Backoff
	gone     map[string]bool
	actions  []Action
	wake     time.Time
	// hooked holds the hook runs this plan asked for; holdNew keeps a
	// rolling deployment's new tasks out of the router until
	// before_traffic passed.
	hooked  map[string]bool
	holdNew bool
	// want is the router split this plan wants (nil: no opinion), sent
	// what it already emitted.
	want *RouterView
	sent *RouterView
}

func newPlanner(s ServiceState) *planner {
	tasks := sortTasks(s.Tasks, func(a, b *Task) int { return cmp.Compare(a.ID, b.ID) })
	return &planner{
		s:       s,
		tasks:   tasks,
		svc:     s.Status,
		backoff: s.Params.Backoff.withDefaults(),
		gone:    map[string]bool{},
		hooked:  map[string]bool{},
	}
}

func (p *planner) emit(a Action) { p.actions = append(p.actions, a) }

func (p *planner) event(typ EventType, dep, task, format string, args ...any) {
	p.emit(Event{Type: typ, Deployment: dep, Task: task, Message: fmt.Sprintf(format, args...)})
}

// wakeAt asks to be reconciled again at t, if t is still to come.
func (p *planner) wakeAt(t time.Time) {
	if t.After(p.s.Now) && (p.wake.IsZero() || t.Before(p.wake)) {
		p.wake = t
	}
}

// present reports whether t is still the planner's to count: not stopped or
// forgotten by this plan.
func (p *planner) present(t Task) bool { return !p.gone[t.ID] }

func (p *planner) start(rev, gen int, why string) {
	p.svc.Seq++
	p.svcDirty = true
	id := TaskID(p.s.Service, rev, p.svc.Seq)
	p.emit(p.startTask(Task{ID: id, Revision: rev, Generation: gen}))
	p.event(EventTaskStarting, p.depID(), id, "starting %s (r%d): %s", id, rev, why)
}

func (p *planner) stop(t Task, reason string) {
	p.gone[t.ID] = true
	p.emit(StopTask{ID: t.ID, Reason: reason})
	p.event(EventTaskStopping, p.depID(), t.ID, "stopping %s (r%d): %s", t.ID, t.Revision, reason)
}

func (p *planner) forget(t Task) {
	p.gone[t.ID] = true
	p.emit(ForgetTask{ID: t.ID})
}

// depID is the deployment in flight, for events.
func (p *planner) depID() string {
	if p.dep == nil {
		return ""
	}
	return p.dep.ID
}

// account handles tasks whose state is a fact to record: exits are counted
// and forgotten, unhealthy tasks are stopped and counted. A failure of a
// deployment's new task feeds its circuit breaker; a failure of the live
// revision outside deployments feeds the restart backoff.
func (p *planner) account(d *Deployment) {
	for _, t := range p.tasks {
		switch t.State {
		case TaskStopped:
			p.forget(t)
		case TaskFailed:
			p.forget(t)
			p.event(EventTaskFailed, p.depID(), t.ID, "%s (r%d) exited: %s", t.ID, t.Revision, exitText(t.Exit))
			p.failure(d, t)
		case TaskUnhealthy:
			p.stop(t, "failed its health check")
			p.event(EventTaskUnhealthy, p.depID(), t.ID, "%s (r%d) failed its health check", t.ID, t.Revision)
			p.failure(d, t)
		}
	}
}

func exitText(e *Exit) string {
	switch {
	case e == nil || (e.Code < 0 && e.Signal == ""):
		return "exit status unknown"
	case e.Signal != "":
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

func (p *planner) failure(d *Deployment, t Task) {
	switch {
	case d != nil && d.isNew(t):
		d.Status.Failures++
		p.depDirty = true
	case d == nil && t.Revision == p.s.Live:
		p.crash()
	}
}

func (p *planner) crash() {
	p.svc.Crashes++
	p.svc.LastCrashAt = p.s.Now
	p.svcDirty = true
	if p.svc.Crashes >= p.backoff.CrashLoopAfter && !p.svc.CrashLoop {
		p.svc.CrashLoop = true
		p.event(EventServiceCrashLoop, "", "", "crash loop: %d failures in a row; restarting at most every %s",
			p.svc.Crashes, p.backoff.Delay(p.svc.Crashes))
	}
}

// resetBackoff clears the crash count once a task of the live revision that
// turned healthy after the last crash has stayed healthy for ResetAfter.
func (p *planner) resetBackoff() {
	if p.svc.Crashes == 0 {
		return
	}
	for _, t := range p.tasks {
		if !p.present(t) || t.State != TaskHealthy || t.Revision != p.s.Live || !t.HealthySince.After(p.svc.LastCrashAt) {
			continue
		}
		at := t.HealthySince.Add(p.backoff.ResetAfter)
		if p.s.Now.Before(at) {
			p.wakeAt(at)
			continue
		}
		if p.svc.CrashLoop {
			p.event(EventServiceRecovered, "", t.ID, "recovered: %s stayed healthy for %s", t.ID, p.backoff.ResetAfter)
		}
		p.svc.Crashes, p.svc.LastCrashAt, p.svc.CrashLoop = 0, time.Time{}, false
		p.svcDirty = true
		return
	}
}

// steady keeps Count tasks of the live revision when no deployment is in
// flight. Tasks of other revisions are stopped once the live revision has
// Count healthy tasks; until then healthy ones keep serving (after a failed
// rollback, what runs is left running).
func (p *planner) steady() {
	n := p.s.Count
	if p.s.Live == 0 {
		n = 0
	}
	var live, others []Task
	liveHealthy := 0
	for _, t := range p.tasks {
		if !p.present(t) || !t.State.active() {
			continue
		}
		if t.Revision == p.s.Live && p.s.Live != 0 {
			live = append(live, t)
			if t.State == TaskHealthy {
				liveHealthy++
			}
		} else {
			others = append(others, t)
		}
	}
	if len(live) > n {
		for _, t := range scaleDownOrder(live)[:len(live)-n] {
			p.stop(t, fmt.Sprintf("scaling down to %d", n))
		}
	}
	if missing := n - len(live); missing > 0 && p.mayRestart() {
		for range missing {
			p.start(p.s.Live, 0, fmt.Sprintf("keeping %d tasks", n))
		}
	}
	for _, t := range others {
		if liveHealthy >= n || t.State != TaskHealthy {
			p.stop(t, fmt.Sprintf("r%d is not wanted (live is r%d)", t.Revision, p.s.Live))
		}
	}
	p.wantRouter(map[string]int{p.svc.stableGroup(): 100}, "")
}

// mayRestart applies the backoff after crashes.
func (p *planner) mayRestart() bool {
	if p.svc.Crashes == 0 {
		return true
	}
	next := p.svc.LastCrashAt.Add(p.backoff.Delay(p.svc.Crashes))
	if p.s.Now.Before(next) {
		p.wakeAt(next)
		return false
	}
	return true
}

// restate repeats the effects still owed for recorded decisions: starting
// tasks still pending, registering started ones, and finishing stops.
func (p *planner) restate() {
	for _, t := range p.tasks {
		if !p.present(t) {
			continue
		}
		switch {
		case t.State == TaskPending:
			p.emit(p.startTask(t))
		case t.State == TaskStarting:
			if p.launched(t) && !(p.holdNew && p.dep.isNew(t)) {
				p.emit(RegisterTask{ID: t.ID, Group: p.groupOf(t)})
			}
		case t.State.leaving():
			p.emit(StopTask{ID: t.ID, Reason: t.StopReason})
		}
	}
}

// startTask starts t and registers it as soon as it is launched when no
// hook must run first: a launch hook runs in the task before it joins, and
// before_traffic holds a rolling deployment's new tasks back.
func (p *planner) startTask(t Task) StartTask {
	a := StartTask{ID: t.ID, Revision: t.Revision, Generation: t.Generation}
	_, launch := p.s.Params.Hooks[HookLaunch]
	_, before := p.s.Params.Hooks[HookBeforeTraffic]
	if !launch && !before {
		a.Register = p.groupOf(t)
	}
	return a
}

// groupOf is the router group a task joins: its deployment's new group
// under a traffic strategy, the stable group otherwise.
func (p *planner) groupOf(t Task) string {
	if d := p.dep; d != nil && !d.Status.State.Done() && d.Status.Group != "" && d.isNew(t) {
		return d.Status.Group
	}
	return p.svc.stableGroup()
}

// scaleDownOrder sorts tasks in the order to stop them: not yet healthy
// first, then the most recently started (pending ones count as newest).
func scaleDownOrder(ts []Task) []Task {
	return sortTasks(ts, func(a, b *Task) int {
		ah, bh := a.State == TaskHealthy, b.State == TaskHealthy
		if ah != bh {
			if ah {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(startKey(b), startKey(a)); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

// sortTasks returns a sorted copy of ts; it sorts pointers, not the large
// structs, which keeps Reconcile in microseconds.
func sortTasks(ts []Task, order func(a, b *Task) int) []Task {
	ptrs := make([]*Task, len(ts))
	for i := range ts {
		ptrs[i] = &ts[i]
	}
	slices.SortStableFunc(ptrs, order)
	out := make([]Task, len(ts))
	for i, t := range ptrs {
		out[i] = *t
	}
	return out
}

func startKey(t *Task) int64 {
	if t.StartedAt.IsZero() {
		return 1<<63 - 1
	}
	return t.StartedAt.UnixNano()
}
