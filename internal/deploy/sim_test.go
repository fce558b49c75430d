package deploy

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// behaviour is how a revision's tasks behave once registered with the
// router: healthy after HealthyAfter ticks, and optionally failing.
type behaviour struct {
	HealthyAfter int
	// Fail: "" (never), "exit" (exits FailAfter ticks after registration),
	// "unhealthy" (router marks it unhealthy FailAfter ticks after
	// registration), "hang" (never passes nor fails its check).
	Fail      string
	FailAfter int
	// FailPercent of the requests its tasks serve end in 500.
	FailPercent int
}

type simTask struct {
	Task
	registeredAt time.Time
	leavingAt    time.Time
}

// world is a fake service the tests drive with Reconcile's plans: one tick
// per step, record then perform, like the server's loop.
type world struct {
	t       *testing.T
	now     time.Time
	count   int
	live    int
	params  Params
	status  ServiceStatus
	deps    []Deployment
	tasks   map[string]*simTask
	behave  map[int]behaviour
	events  []Event
	step    int
	drainTk int
	// dropEffects, when set, makes the executor "crash" after recording a
	// step's plan and before performing it.
	dropEffects func(step int) bool
	// onPlan observes each plan with the world as the plan found it.
	onPlan func(w *world, p Plan)
	// minHealthy is the invariant healthy ≥ minHealthy checked after every
	// step (0: not checked).
	minHealthy int
	maxActive  int
	startedIDs map[string]bool

	// The router: weights per group (a group exists once a target joined
	// it), the test group, and every weights change applied, in order.
	router    RouterView
	weightLog []map[string]int
	rps       int                // production requests per tick
	testRPS   int                // test-route requests per tick while a test group is set
	served    map[int]int64      // requests served per revision
	failed    map[int]int64      // 500s returned per revision
	window    map[string][]int64 // per group: requests, errors per tick, newest last
	samples   map[string]Sample
	sampleTk  int // ticks between samples (the analysis interval)
	hooks     map[string]*HookRun
	hookDue   map[string]time.Time
	hookFail  map[HookName]bool
	hookTicks int
}

func hookKey(h HookName, dep, task string) string {
	if h == HookLaunch {
		return string(h) + "/" + task
	}
	return string(h) + "/" + dep
}

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// newWorld starts with count healthy tasks of live revision 1.
func newWorld(t *testing.T, count int, params Params) *world {
	w := &world{t: t, now: t0, count: count, live: 1, params: params, tasks: map[string]*simTask{},
		behave: map[int]behaviour{1: {HealthyAfter: 2}}, drainTk: 1, startedIDs: map[string]bool{},
		router: RouterView{Weights: map[string]int{RollingGroup: 100}}, served: map[int]int64{}, failed: map[int]int64{},
		window: map[string][]int64{}, samples: map[string]Sample{}, sampleTk: 5,
		hooks: map[string]*HookRun{}, hookDue: map[string]time.Time{}, hookFail: map[HookName]bool{}, hookTicks: 1}
	for i := range count {
		w.status.Seq++
		id := fmt.Sprintf("web-r1-%d", w.status.Seq)
		w.tasks[id] = &simTask{Task: Task{ID: id, Revision: 1, State: TaskHealthy,
			StartedAt: t0.Add(-time.Hour + time.Duration(i)*time.Second), HealthySince: t0.Add(-time.Hour), Group: RollingGroup}}
	}
	return w
}

func (w *world) snapshot() ServiceState {
	s := ServiceState{Service: "web", Now: w.now, Count: w.count, Live: w.live, Params: w.params, Status: w.status}
	for _, d := range w.deps {
		if !d.Status.State.Done() {
			s.Deployments = append(s.Deployments, d)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(w.tasks)) {
		s.Tasks = append(s.Tasks, w.tasks[id].Task)
	}
	s.Router = &RouterView{Weights: maps.Clone(w.router.Weights), TestGroup: w.router.TestGroup}
	s.Samples = maps.Clone(w.samples)
	for _, k := range slices.Sorted(maps.Keys(w.hooks)) {
		s.Hooks = append(s.Hooks, *w.hooks[k])
	}
	return s
}

func (w *world) deploy(id string, kind Kind, to int) *Deployment {
	w.deps = append(w.deps, Deployment{ID: id, Kind: kind, To: to})
	return &w.deps[len(w.deps)-1]
}

func (w *world) dep(id string) Deployment {
	for _, d := range w.deps {
		if d.ID == id {
			return d
		}
	}
	w.t.Fatalf("no deployment %s", id)
	return Deployment{}
}

// reconcileOnce runs one loop iteration: reconcile, record, perform.
func (w *world) reconcileOnce() Plan {
	w.t.Helper()
	p := Reconcile(w.snapshot())
	if w.onPlan != nil {
		w.onPlan(w, p)
	}
	w.record(p)
	if w.dropEffects == nil || !w.dropEffects(w.step) {
		w.perform(p)
	}
	w.check()
	return p
}

func (w *world) record(p Plan) {
	for _, a := range p.Actions {
		switch a := a.(type) {
		case SetService:
			w.status = a.Status
		case SetDeployment:
			for i := range w.deps {
				if w.deps[i].ID == a.ID {
					w.deps[i].Status = a.Status
				}
			}
		case SetLive:
			w.live = a.Revision
		case StartTask:
			if _, ok := w.tasks[a.ID]; !ok {
				if w.startedIDs[a.ID] {
					w.t.Fatalf("step %d: task id %s reused", w.step, a.ID)
				}
				w.startedIDs[a.ID] = true
				w.tasks[a.ID] = &simTask{Task: Task{ID: a.ID, Revision: a.Revision, Generation: a.Generation, State: TaskPending}}
			}
		case StopTask:
			st := w.tasks[a.ID]
			if st == nil {
				w.t.Fatalf("step %d: stop of unknown task %s", w.step, a.ID)
			}
			if st.State.active() {
				st.State, st.StopReason, st.HealthySince, st.leavingAt = TaskDraining, a.Reason, time.Time{}, w.now
			}
		case ForgetTask:
			delete(w.tasks, a.ID)
		case RunHook:
			if k := hookKey(a.Hook, a.Deployment, a.Task); w.hooks[k] == nil {
				w.hooks[k] = &HookRun{Hook: a.Hook, Deployment: a.Deployment, Task: a.Task, State: HookRunning}
			}
		case Event:
			w.events = append(w.events, a)
		}
	}
}

func (w *world) register(id, group string) {
	if st := w.tasks[id]; st != nil && st.State == TaskStarting {
		st.State, st.registeredAt, st.Group = TaskRunning, w.now, group
		if _, ok := w.router.Weights[group]; !ok {
			w.router.Weights[group] = 0
		}
	}
}

func (w *world) perform(p Plan) {
	for _, a := range p.Actions {
		switch a := a.(type) {
		case StartTask:
			if st := w.tasks[a.ID]; st != nil && st.State == TaskPending {
				st.State, st.StartedAt = TaskStarting, w.now
				if a.Register != "" {
					w.register(a.ID, a.Register)
				}
			}
		case RegisterTask:
			w.register(a.ID, a.Group)
		case SetWeights:
			for g := range w.router.Weights {
				w.router.Weights[g] = a.Weights[g]
			}
			w.weightLog = append(w.weightLog, maps.Clone(w.router.Weights))
		case SetRules:
			w.router.TestGroup = a.TestGroup
		case RunHook:
			if k := hookKey(a.Hook, a.Deployment, a.Task); w.hookDue[k].IsZero() {
				w.hookDue[k] = w.now.Add(time.Duration(w.hookTicks) * time.Second)
			}
		}
	}
}

// serve sends one tick of traffic through the router: production requests
// split by weight over the groups' healthy tasks (a group with none takes
// nothing: the router would fail over), test requests to the test group.
// Every sampleTk ticks each group's figures become its Sample.
func (w *world) serve() {
	healthy := map[string][]*simTask{}
	for _, id := range slices.Sorted(maps.Keys(w.tasks)) {
		if st := w.tasks[id]; st.State == TaskHealthy && st.Group != "" {
			healthy[st.Group] = append(healthy[st.Group], st)
		}
	}
	total := 0
	for g, wt := range w.router.Weights {
		if len(healthy[g]) > 0 {
			total += wt
		}
	}
	perGroup := map[string]int{}
	for g, wt := range w.router.Weights {
		if len(healthy[g]) > 0 && total > 0 {
			perGroup[g] += w.rps * wt / total
		}
	}
	if g := w.router.TestGroup; g != "" && len(healthy[g]) > 0 {
		perGroup[g] += w.testRPS
	}
	for _, g := range slices.Sorted(maps.Keys(w.router.Weights)) {
		n, errs := int64(0), int64(0)
		for i := range perGroup[g] {
			st := healthy[g][i%len(healthy[g])]
			n++
			w.served[st.Revision]++
			if fp := w.behave[st.Revision].FailPercent; fp > 0 && (i*100/max(perGroup[g], 1))%100 < fp {
				errs++
				w.failed[st.Revision]++
			}
		}
		w.window[g] = append(w.window[g], n, errs)
		if len(w.window[g]) > 2*w.sampleTk {
			w.window[g] = w.window[g][2:]
		}
	}
	if w.step%w.sampleTk == 0 {
		for g, win := range w.window {
			var s Sample
			s.At = w.now
			for i := 0; i+1 < len(win); i += 2 {
				s.Requests += win[i]
				s.Errors += win[i+1]
			}
			s.P99 = 10 * time.Millisecond
			w.samples[g] = s
		}
	}
}

// tick advances the clock one second and lets tasks and the router move.
func (w *world) tick() {
	w.now = w.now.Add(time.Second)
	w.step++
	for _, k := range slices.Sorted(maps.Keys(w.hookDue)) {
		if r := w.hooks[k]; r != nil && r.State == HookRunning && !w.now.Before(w.hookDue[k]) {
			r.State = HookPassed
			if w.hookFail[r.Hook] {
				r.State, r.Message = HookFailed, "exit code 1"
			}
		}
	}
	w.serve()
	for _, id := range slices.Sorted(maps.Keys(w.tasks)) {
		st := w.tasks[id]
		b := w.behave[st.Revision]
		age := int(w.now.Sub(st.registeredAt) / time.Second)
		switch {
		case st.State.leaving():
			if int(w.now.Sub(st.leavingAt)/time.Second) >= w.drainTk {
				if st.State == TaskDraining {
					st.State = TaskStopping
				} else {
					st.State, st.Exit = TaskStopped, &Exit{Code: 0, At: w.now}
				}
			}
		case st.State == TaskRunning || st.State == TaskHealthy:
			switch {
			case b.Fail == "exit" && age >= b.FailAfter:
				st.State, st.HealthySince, st.Exit = TaskFailed, time.Time{}, &Exit{Code: 1, At: w.now}
			case b.Fail == "unhealthy" && age >= b.FailAfter:
				st.State, st.HealthySince = TaskUnhealthy, time.Time{}
			case st.State == TaskRunning && b.Fail != "hang" && age >= b.HealthyAfter:
				st.State, st.HealthySince = TaskHealthy, w.now
			}
		}
	}
}

func (w *world) counts() (healthy, active int) {
	for _, st := range w.tasks {
		if st.State == TaskHealthy {
			healthy++
		}
		if st.State.active() {
			active++
		}
	}
	return
}

func (w *world) check() {
	w.t.Helper()
	healthy, active := w.counts()
	if w.minHealthy > 0 && healthy < w.minHealthy {
		w.t.Fatalf("step %d: %d healthy tasks, invariant wants ≥ %d\n%s", w.step, healthy, w.minHealthy, w.dump())
	}
	for g, wt := range w.router.Weights {
		if wt > 0 && w.healthyIn(g) == 0 && w.healthyIn("") > 0 {
			w.t.Fatalf("step %d: group %s has weight %d and no healthy task\n%s", w.step, g, wt, w.dump())
		}
	}
	if w.maxActive > 0 && active > w.maxActive {
		w.t.Fatalf("step %d: %d tasks meant to serve, surge allows %d\n%s", w.step, active, w.maxActive, w.dump())
	}
}

// run steps until deployment id has ended and a plan changes nothing, or
// fails the test after limit steps.
func (w *world) run(id string, limit int) Deployment {
	w.t.Helper()
	for range limit {
		p := w.reconcileOnce()
		if d := w.dep(id); d.Status.State.Done() && len(effects(p)) == 0 && !hasDecision(p) {
			return d
		}
		w.tick()
	}
	w.t.Fatalf("deployment %s not done after %d steps: %+v\n%s", id, limit, w.dep(id).Status, w.dump())
	return Deployment{}
}

// effects are the actions that change the world beyond restatements.
func effects(p Plan) []Action {
	var out []Action
	for _, a := range p.Actions {
		switch a.(type) {
		case RegisterTask, Event:
		default:
			out = append(out, a)
		}
	}
	return out
}

func hasDecision(p Plan) bool {
	for _, a := range p.Actions {
		if _, ok := a.(Event); ok {
			return true
		}
	}
	return false
}

func (w *world) dump() string {
	s := fmt.Sprintf("now=%s live=r%d status=%+v router=%v\n", w.now.Sub(t0), w.live, w.status, w.router)
	for _, d := range w.deps {
		s += fmt.Sprintf("  %s %+v\n", d.ID, d.Status)
	}
	for _, id := range slices.Sorted(maps.Keys(w.tasks)) {
		st := w.tasks[id]
		s += fmt.Sprintf("  %s r%d g%d %s %s\n", id, st.Revision, st.Generation, st.State, st.Group)
	}
	return s
}

// healthyIn counts healthy tasks registered in group g ("": any group).
func (w *world) healthyIn(g string) int {
	n := 0
	for _, st := range w.tasks {
		if st.State == TaskHealthy && st.Group != "" && (g == "" || st.Group == g) {
			n++
		}
	}
	return n
}

// until steps until cond holds after a reconcile, or fails after limit.
func (w *world) until(what string, limit int, cond func() bool) {
	w.t.Helper()
	for range limit {
		w.reconcileOnce()
		if cond() {
			return
		}
		w.tick()
	}
	w.t.Fatalf("%s: not reached after %d steps\n%s", what, limit, w.dump())
}

// control changes the operator's requests on deployment id.
func (w *world) control(id string, f func(*Controls)) {
	for i := range w.deps {
		if w.deps[i].ID == id {
			f(&w.deps[i].Controls)
		}
	}
}

func (w *world) tasksOf(rev int) (healthy, all int) {
	for _, st := range w.tasks {
		if st.Revision == rev {
			all++
			if st.State == TaskHealthy {
				healthy++
			}
		}
	}
	return
}

func (w *world) eventTypes() []EventType {
	var out []EventType
	for _, e := range w.events {
		if e.Deployment != "" && (e.Type != EventTaskStarting && e.Type != EventTaskStopping) {
			out = append(out, e.Type)
		}
	}
	return out
}
