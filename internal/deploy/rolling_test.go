package deploy

import (
	"strings"
	"testing"
	"time"
)

// guardStops fails the test when a healthy old task is stopped while fewer
// than (stops so far − max_unavailable) new tasks have stayed healthy for
// min_healthy_time: no old task goes before a new one has proved itself,
// beyond what max_unavailable allows.
func guardStops(t *testing.T, target, unavailable int, warm time.Duration) func(*world, Plan) {
	stopped := 0
	return func(w *world, p Plan) {
		mature := 0
		for _, st := range w.tasks {
			if st.Revision == target && st.State == TaskHealthy && !w.now.Before(st.HealthySince.Add(warm)) {
				mature++
			}
		}
		for _, a := range p.Actions {
			stop, ok := a.(StopTask)
			if !ok {
				continue
			}
			if st := w.tasks[stop.ID]; st.Revision != target && st.State == TaskHealthy {
				stopped++
				if stopped > unavailable+mature {
					t.Fatalf("step %d: stopping healthy old %s (#%d) with %d new tasks healthy for %s and max_unavailable %d\n%s",
						w.step, stop.ID, stopped, mature, warm, unavailable, w.dump())
				}
			}
		}
	}
}

func TestRollingCompletes(t *testing.T) {
	cases := []struct {
		count          int
		surge, unavail Quantity
		warm           time.Duration
		wantS, wantU   int
		maxSteps       int
	}{
		{1, "25%", "0", 0, 1, 0, 20},
		{1, "", "", 3 * time.Second, 1, 0, 20},
		{3, "1", "0", 0, 1, 0, 30},
		{3, "1", "0", 5 * time.Second, 1, 0, 60},
		{10, "25%", "0", 2 * time.Second, 3, 0, 80},
		{10, "0", "2", 0, 0, 2, 80},
		{10, "50%", "50%", 1 * time.Second, 5, 5, 40},
		{10, "100%", "0", 0, 10, 0, 20},
	}
	for _, c := range cases {
		name := strings.Join([]string{itoa(c.count), string(c.surge), string(c.unavail), c.warm.String()}, "/")
		t.Run(name, func(t *testing.T) {
			params := Params{MaxSurge: c.surge, MaxUnavailable: c.unavail, MinHealthyTime: c.warm}
			b, err := RollingBudget(c.count, c.surge, c.unavail)
			if err != nil || b != (Budget{c.wantS, c.wantU}) {
				t.Fatalf("budget = %+v, %v; want surge %d unavailable %d", b, err, c.wantS, c.wantU)
			}
			w := newWorld(t, c.count, params)
			w.behave[2] = behaviour{HealthyAfter: 2}
			w.minHealthy = c.count - b.Unavailable
			w.maxActive = c.count + b.Surge
			w.onPlan = guardStops(t, 2, b.Unavailable, c.warm)
			w.deploy("d1", KindDeploy, 2)
			d := w.run("d1", c.maxSteps)
			if d.Status.State != DeploySucceeded || w.live != 2 {
				t.Fatalf("state %s live r%d, want succeeded r2", d.Status.State, w.live)
			}
			if h, all := w.tasksOf(2); h != c.count || all != c.count || len(w.tasks) != c.count {
				t.Fatalf("r2 %d healthy of %d, %d tasks in all; want %d\n%s", h, all, len(w.tasks), c.count, w.dump())
			}
			wantTypes := []EventType{EventDeploymentStarted, EventDeploymentSucceeded}
			if got := w.eventTypes(); !equal(got, wantTypes) {
				t.Fatalf("deployment events %v, want %v", got, wantTypes)
			}
		})
	}
}

func TestRollingFromNothing(t *testing.T) {
	w := newWorld(t, 3, Params{})
	for id := range w.tasks {
		delete(w.tasks, id)
	}
	w.live = 0
	w.behave[1] = behaviour{HealthyAfter: 1}
	w.deploy("d1", KindDeploy, 1)
	p := w.reconcileOnce()
	if n := count[StartTask](p); n != 3 {
		t.Fatalf("first deployment started %d tasks at once, want 3 (nothing to keep available)", n)
	}
	if d := w.run("d1", 20); d.Status.State != DeploySucceeded || w.live != 1 {
		t.Fatalf("state %s live r%d", d.Status.State, w.live)
	}
}

func TestCircuitBreakerRollsBack(t *testing.T) {
	for _, fail := range []string{"exit", "unhealthy"} {
		t.Run(fail, func(t *testing.T) {
			w := newWorld(t, 3, Params{})
			w.behave[2] = behaviour{HealthyAfter: 5, Fail: fail, FailAfter: 2}
			w.minHealthy = 3 // the old revision never stops serving
			w.onPlan = guardStops(t, 2, 0, 0)
			w.deploy("d1", KindDeploy, 2)
			d := w.run("d1", 60)
			if d.Status.State != DeployRolledBack || w.live != 1 {
				t.Fatalf("state %s live r%d, want rolled_back r1", d.Status.State, w.live)
			}
			if want := "circuit breaker: 3 tasks of r2 failed (threshold 3)"; d.Status.Reason != want {
				t.Fatalf("reason %q, want %q", d.Status.Reason, want)
			}
			if h, all := w.tasksOf(1); h != 3 || all != 3 || len(w.tasks) != 3 {
				t.Fatalf("after rollback:\n%s", w.dump())
			}
			want := []EventType{EventDeploymentStarted, EventDeploymentRollingBack, EventDeploymentRolledBack}
			if got := w.eventTypes(); !equal(withoutTaskEvents(got), want) {
				t.Fatalf("events %v, want %v", got, want)
			}
		})
	}
}

// TestRollbackAfterOldStopped: the new revision turns bad only after the old
// tasks are gone, so the rollback must start the old revision again.
func TestRollbackAfterOldStopped(t *testing.T) {
	w := newWorld(t, 3, Params{})
	w.behave[2] = behaviour{HealthyAfter: 1, Fail: "unhealthy", FailAfter: 5}
	w.deploy("d1", KindDeploy, 2)
	oldLeft := -1
	w.onPlan = func(w *world, p Plan) {
		for _, a := range p.Actions {
			if sd, ok := a.(SetDeployment); ok && sd.Status.State == DeployRollingBack && oldLeft < 0 {
				_, oldLeft = w.tasksOf(1)
			}
		}
	}
	d := w.run("d1", 80)
	if oldLeft != 0 {
		t.Fatalf("%d r1 tasks left when the rollback began, want 0 (the scenario needs them gone)", oldLeft)
	}
	if d.Status.State != DeployRolledBack || w.live != 1 {
		t.Fatalf("state %s live r%d\n%s", d.Status.State, w.live, w.dump())
	}
	if h, all := w.tasksOf(1); h != 3 || all != 3 || len(w.tasks) != 3 {
		t.Fatalf("after rollback:\n%s", w.dump())
	}
}

// TestRollbackThatFails: the old revision cannot start either; the
// deployment ends failed, says so, and the tasks that serve keep serving.
func TestRollbackThatFails(t *testing.T) {
	w := newWorld(t, 3, Params{})
	w.behave[2] = behaviour{HealthyAfter: 1, Fail: "unhealthy", FailAfter: 5}
	w.deploy("d1", KindDeploy, 2)
	for range 60 {
		w.reconcileOnce()
		if w.dep("d1").Status.State == DeployRollingBack {
			w.behave[1] = behaviour{Fail: "exit", FailAfter: 0}
		}
		if w.dep("d1").Status.State.Done() {
			break
		}
		w.tick()
	}
	d := w.dep("d1")
	if d.Status.State != DeployFailed || !strings.HasPrefix(d.Status.Reason, "rollback to r1 failed: circuit breaker") {
		t.Fatalf("state %s reason %q\n%s", d.Status.State, d.Status.Reason, w.dump())
	}
	if w.live != 1 {
		t.Fatalf("live r%d, want r1 still recorded", w.live)
	}
	last := w.events[len(w.events)-1]
	for _, e := range w.events {
		if e.Type == EventDeploymentFailed {
			last = e
		}
	}
	if last.Type != EventDeploymentFailed || !strings.Contains(last.Message, "FAILED") {
		t.Fatalf("no loud failure event: %+v", last)
	}
}

func TestProgressDeadline(t *testing.T) {
	w := newWorld(t, 2, Params{ProgressDeadline: 30 * time.Second})
	w.behave[2] = behaviour{Fail: "hang"}
	w.minHealthy = 2
	w.deploy("d1", KindDeploy, 2)
	var rolledAt time.Time
	w.onPlan = func(w *world, p Plan) {
		for _, a := range p.Actions {
			if sd, ok := a.(SetDeployment); ok && sd.Status.State == DeployRollingBack && rolledAt.IsZero() {
				rolledAt = w.now
			}
		}
		if w.now.Sub(t0) < 30*time.Second && !p.Wake.Equal(t0.Add(30*time.Second)) {
			t.Fatalf("at %s wake %s, want the deadline", w.now.Sub(t0), p.Wake.Sub(t0))
		}
	}
	d := w.run("d1", 60)
	if got := rolledAt.Sub(t0); got != 30*time.Second {
		t.Fatalf("rolled back after %s, want exactly the 30s deadline", got)
	}
	if d.Status.State != DeployRolledBack || d.Status.Reason != "no progress for 30s (progress deadline)" {
		t.Fatalf("state %s reason %q", d.Status.State, d.Status.Reason)
	}
}

func TestSupersedeMidRollout(t *testing.T) {
	w := newWorld(t, 10, Params{MinHealthyTime: time.Second})
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.behave[3] = behaviour{HealthyAfter: 2}
	w.minHealthy = 10
	w.maxActive = 13
	w.deploy("d1", KindDeploy, 2)
	for range 8 {
		w.reconcileOnce()
		w.tick()
	}
	if h, _ := w.tasksOf(2); h == 0 {
		t.Fatalf("want a rollout in mid-flight:\n%s", w.dump())
	}
	w.deploy("d2", KindDeploy, 3)
	d := w.run("d2", 100)
	if d1 := w.dep("d1"); d1.Status.State != DeploySuperseded || d1.Status.Reason != "superseded by d2" {
		t.Fatalf("d1 %+v", d1.Status)
	}
	if d.Status.State != DeploySucceeded || d.Status.From != 1 || w.live != 3 {
		t.Fatalf("d2 %+v live r%d", d.Status, w.live)
	}
	if h, all := w.tasksOf(3); h != 10 || all != 10 || len(w.tasks) != 10 {
		t.Fatalf("after d2:\n%s", w.dump())
	}
}

// TestRestart replaces every task of the live revision by generation,
// keeping min_healthy_percent and the warmup.
func TestRestart(t *testing.T) {
	w := newWorld(t, 4, Params{})
	w.minHealthy = 2
	before := map[string]bool{}
	for id := range w.tasks {
		before[id] = true
	}
	d := w.deploy("d1", KindRestart, 1)
	d.MinHealthyPercent, d.Warmup = 50, 3*time.Second
	w.onPlan = func(w *world, p Plan) {
		for _, a := range p.Actions {
			if s, ok := a.(StartTask); ok && s.Generation != 1 {
				t.Fatalf("restart started %s at generation %d, want 1", s.ID, s.Generation)
			}
		}
	}
	got := w.run("d1", 60)
	if got.Status.State != DeploySucceeded || w.live != 1 {
		t.Fatalf("%+v live r%d", got.Status, w.live)
	}
	if len(w.tasks) != 4 {
		t.Fatalf("%d tasks\n%s", len(w.tasks), w.dump())
	}
	for id, st := range w.tasks {
		if before[id] || st.Generation != 1 || st.State != TaskHealthy {
			t.Fatalf("task %s not replaced\n%s", id, w.dump())
		}
	}
}

// TestCrashBetweenRecordAndPerform drops every other step's effects, as if
// the server died after recording its plan: the deployment still completes,
// no task id is started twice and the surge budget holds.
func TestCrashBetweenRecordAndPerform(t *testing.T) {
	w := newWorld(t, 10, Params{MinHealthyTime: time.Second})
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.minHealthy, w.maxActive = 10, 13
	w.dropEffects = func(step int) bool { return step%2 == 1 }
	w.deploy("d1", KindDeploy, 2)
	if d := w.run("d1", 120); d.Status.State != DeploySucceeded {
		t.Fatalf("%+v", d.Status)
	}
	if h, all := w.tasksOf(2); h != 10 || all != 10 {
		t.Fatalf("\n%s", w.dump())
	}
}

// TestRecordedPlanIsFixedPoint: reconciling the snapshot that already
// holds a plan's records decides nothing new; it only restates effects.
func TestRecordedPlanIsFixedPoint(t *testing.T) {
	w := newWorld(t, 10, Params{})
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.deploy("d1", KindDeploy, 2)
	expectFixedPoint(t, w, 12, func(Action) bool { return false })
}

// expectFixedPoint runs w for steps reconciliations, and after recording
// each plan reconciles again: the second plan may only restate effects
// still owed (starts of pending tasks, stops of leaving ones, registrations)
// or what restated says it may; any other action fails t.
func expectFixedPoint(t *testing.T, w *world, steps int, restated func(Action) bool) {
	t.Helper()
	for range steps {
		w.reconcileOnce()
		w.tick()
		p := Reconcile(w.snapshot())
		w.record(p)
		again := Reconcile(w.snapshot())
		for _, a := range again.Actions {
			switch a := a.(type) {
			case StartTask:
				if w.tasks[a.ID].State != TaskPending {
					t.Fatalf("step %d: new start %+v after recording", w.step, a)
				}
			case StopTask:
				if !w.tasks[a.ID].State.leaving() {
					t.Fatalf("step %d: new stop %+v after recording", w.step, a)
				}
			case RegisterTask:
			default:
				if !restated(a) {
					t.Fatalf("step %d: new decision %#v after recording", w.step, a)
				}
			}
		}
		w.perform(p)
	}
}
