package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// serves reports whether the router answers / with version v.
func (e *env) serves(v string) (bool, string) {
	code, body := e.get()
	return code == 200 && strings.Contains(body, `"version":"`+v+`"`), fmt.Sprintf("router serving %s (got %d %s)", v, code, body)
}

func TestRollingDeployUpgradeAndRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()

	// v1: three tasks, all healthy and registered.
	d1 := e.deploy(web(3, true, "HELLO_VERSION=v1"))
	if err := e.wait(d1.Deployment); err != nil {
		t.Fatalf("v1: %v", err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 1, 3), "3 healthy tasks of r1" })
	rs, err := e.router.Service(context.Background(), "hello/production/web")
	if err != nil {
		t.Fatal(err)
	}
	if n := healthyTargets(rs); n != 3 {
		t.Fatalf("router has %d healthy targets, want 3: %+v", n, rs.Groups)
	}
	waitFor(t, 5*time.Second, func() (bool, string) { return e.serves("v1") })
	v1 := e.status().Tasks

	// v2: every task replaced; no r1 process or row is left. Progress is
	// reported at most every progressEvery, and its last report is the end.
	d2 := e.deploy(web(3, true, "HELLO_VERSION=v2"))
	var reports []time.Time
	var lastReport deploy.Progress
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	err = e.ctl.WaitDeployment(ctx, d2.Deployment, func(p deploy.Progress) {
		reports, lastReport = append(reports, time.Now()), p
	})
	cancel()
	if err != nil {
		t.Fatalf("v2: %v", err)
	}
	if len(reports) < 2 || lastReport.State != deploy.DeploySucceeded {
		t.Fatalf("v2: %d progress reports, the last %+v; want several, ending succeeded", len(reports), lastReport)
	}
	for i := 1; i < len(reports)-1; i++ { // the terminal report comes at once
		if gap := reports[i].Sub(reports[i-1]); gap < progressEvery {
			t.Errorf("progress reports %d and %d came %s apart, want at least %s", i-1, i, gap, progressEvery)
		}
	}
	// Each new task's turn to healthy is in the deployment's trace, after
	// its start.
	evs, err := e.store.ListEvents(context.Background(), store.EventFilter{Deployment: d2.Deployment})
	if err != nil {
		t.Fatal(err)
	}
	starting, healthy := map[string]bool{}, map[string]bool{}
	for _, ev := range evs {
		switch ev.Type {
		case string(deploy.EventTaskStarting):
			starting[ev.Task] = true
		case EventTaskHealthy:
			if !starting[ev.Task] || healthy[ev.Task] {
				t.Errorf("task.healthy of %s out of order: %s", ev.Task, ev.Message)
			}
			healthy[ev.Task] = true
		}
	}
	if len(healthy) != 3 || len(starting) != 3 {
		t.Errorf("deployment %d traced %d starts and %d healthy tasks, want 3 and 3", d2.Deployment, len(starting), len(healthy))
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		st := e.status()
		return onRevision(st, 2, 3) && len(e.running()) == 3, fmt.Sprintf("3 tasks of r2 only (%+v, running %v)", st.Tasks, e.running())
	})
	for _, old := range v1 {
		if e.running()[old.ID] != 0 {
			t.Errorf("r1 task %s still runs", old.ID)
		}
	}
	if rows, _ := e.store.ListTasks(context.Background(), store.TaskFilter{ServiceID: d2.ServiceID, Revision: 1}); len(rows) != 0 {
		t.Errorf("r1 rows left: %+v", rows)
	}
	waitFor(t, 5*time.Second, func() (bool, string) { return e.serves("v2") })

	// v3 never passes its health check: rolled back, v2 still serving.
	d3 := e.deploy(web(3, true, "HELLO_VERSION=v3", "HELLO_UNHEALTHY=1"))
	err = e.wait(d3.Deployment)
	var de *DeploymentError
	if !errors.As(err, &de) || de.State != string(store.DeployRolledBack) {
		t.Fatalf("v3: got %v, want a rolled_back DeploymentError", err)
	}
	if st := e.status(); st.Live != 2 {
		t.Fatalf("live is r%d after the rollback, want r2", st.Live)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 2, 3), "3 healthy tasks of r2 after rollback" })
	if ok, what := e.serves("v2"); !ok {
		t.Fatal(what)
	}

	// The trace has the deployment's steps, in order.
	evs, err = e.store.ListEvents(context.Background(), store.EventFilter{Deployment: d3.Deployment})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	joined := strings.Join(types, " ")
	for _, want := range []string{string(deploy.EventDeploymentStarted), string(deploy.EventTaskUnhealthy),
		string(deploy.EventDeploymentRollingBack), string(deploy.EventDeploymentRolledBack)} {
		if !strings.Contains(joined, want) {
			t.Errorf("events of deployment %d lack %s: %s", d3.Deployment, want, joined)
		}
	}
}

func healthyTargets(s api.ServiceStatus) int {
	n := 0
	for _, g := range s.Groups {
		for _, t := range g.Targets {
			if t.Health == api.TargetHealthy {
				n++
			}
		}
	}
	return n
}

func TestKilledTaskIsReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	d := e.deploy(web(2, true, "HELLO_VERSION=v1"))
	if err := e.wait(d.Deployment); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 1, 2), "2 healthy tasks" })
	victim, err := e.store.GetTask(context.Background(), e.status().Tasks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		st := e.status()
		for _, tk := range st.Tasks {
			if tk.ID == victim.ID {
				return false, "the killed task to be forgotten"
			}
		}
		return onRevision(st, 1, 2), fmt.Sprintf("2 healthy tasks again (%+v)", st.Tasks)
	})
	evs, _ := e.store.ListEvents(context.Background(), store.EventFilter{Task: victim.ID, Type: string(deploy.EventTaskFailed)})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "killed") && !strings.Contains(evs[0].Message, "exit") {
		t.Errorf("want one task.failed event for %s, got %+v", victim.ID, evs)
	}
}

func TestCrashLoopBacksOffAndIsReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	// Unrouted, so healthy while running: the deployment succeeds, then
	// every task crashes after a second.
	d := e.deploy(web(1, false, "HELLO_VERSION=v1", "HELLO_CRASH_AFTER=700ms"))
	if err := e.wait(d.Deployment); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() (bool, string) {
		st := e.status()
		return st.State == "crash_loop", fmt.Sprintf("crash_loop state (got %q, %d crashes)", st.State, st.Crashes)
	})
	evs, err := e.store.ListEvents(context.Background(), store.EventFilter{Service: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var loop, exited bool
	var starts []time.Time
	for _, ev := range evs {
		switch ev.Type {
		case string(deploy.EventServiceCrashLoop):
			loop = true
		case EventTaskExited:
			exited = exited || strings.Contains(ev.Message, "HELLO_CRASH_AFTER")
		case EventTaskLaunched:
			starts = append(starts, ev.Time)
		}
	}
	if !loop || !exited {
		t.Errorf("want a service.crash_loop event and the crash's output in a task.exited event; got loop=%v exited=%v", loop, exited)
	}
	// Backoff: launches are spaced by the crash time plus a growing delay,
	// never a storm.
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 700*time.Millisecond {
			t.Errorf("launch %d came %s after the previous one: no backoff", i, gap)
		}
	}
}

func TestAdoptionAfterControllerRestartMidDeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	d1 := e.deploy(web(2, true, "HELLO_VERSION=v1"))
	if err := e.wait(d1.Deployment); err != nil {
		t.Fatal(err)
	}
	d2 := e.deploy(web(2, true, "HELLO_VERSION=v2"))
	// Stop the controller once the deployment is under way.
	waitFor(t, 10*time.Second, func() (bool, string) {
		rows, _ := e.store.ListTasks(context.Background(), store.TaskFilter{ServiceID: d2.ServiceID, Revision: 2})
		return len(rows) > 0 && rows[0].Handle != "", "an r2 task launched"
	})
	e.stopCtl()

	// An unknown process is stopped at adoption.
	orphan, err := e.driver().Start(context.Background(), definitionSpec(t, e, "orphan-1"))
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	if err := e.wait(d2.Deployment); err != nil {
		t.Fatalf("the deployment did not complete after the restart: %v", err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		st := e.status()
		run := e.running()
		return onRevision(st, 2, 2) && len(run) == 2, fmt.Sprintf("2 tasks of r2, nothing else running (%+v, %v)", st.Tasks, run)
	})
	if st, _ := e.driver().Inspect(context.Background(), orphan.Handle); st.Running {
		t.Error("the orphan task still runs")
	}
}

// definitionSpec is a hello task the store knows nothing about.
func definitionSpec(t *testing.T, e *env, id string) runtime.TaskSpec {
	dir, err := e.arts.Unpack(context.Background(), e.artifact)
	if err != nil {
		t.Fatal(err)
	}
	spec := RevisionSpec{App: "hello", Environment: "production", Service: "web", Spec: web(1, false)}
	port, err := e.ctl.ports.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	return spec.taskSpec(id, 1, dir, port)
}

func TestScaleRestartRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.start()
	ctx := context.Background()
	for _, v := range []string{"v1", "v2"} {
		d := e.deploy(web(2, true, "HELLO_VERSION="+v))
		if err := e.wait(d.Deployment); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
	svc := e.status().ServiceID

	if err := c.Scale(ctx, svc, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 2, 3), "3 healthy tasks of r2" })
	// A deploy whose file leaves count unchanged keeps the scale.
	d := e.deploy(web(2, true, "HELLO_VERSION=v2b"))
	if err := e.wait(d.Deployment); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 3, 3), "3 healthy tasks of r3" })

	before := map[string]bool{}
	for _, tk := range e.status().Tasks {
		before[tk.ID] = true
	}
	r, err := c.Restart(ctx, svc, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.wait(r.Deployment); err != nil {
		t.Fatalf("restart: %v", err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		st := e.status()
		for _, tk := range st.Tasks {
			if before[tk.ID] {
				return false, "every task replaced"
			}
		}
		return onRevision(st, 3, 3), "3 healthy new tasks of r3"
	})

	rb, err := c.Rollback(ctx, svc, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.wait(rb.Deployment); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 1, 3), "3 healthy tasks of r1" })
	waitFor(t, 5*time.Second, func() (bool, string) { return e.serves("v1") })
	if _, err := c.Rollback(ctx, svc, 1); !errors.Is(err, ErrConflict) {
		t.Errorf("rollback to the live revision: got %v, want a conflict", err)
	}
	if _, err := c.Rollback(ctx, svc, 42); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback to a revision that does not exist: got %v, want not found", err)
	}
}

// A controller stopped while it starts up (adopting tasks, listing
// services) reports no error: it was asked to stop. Before, a server that
// got SIGTERM right after it began exited 1 with "context canceled".
func TestRunStoppedDuringStartUpIsNoFailure(t *testing.T) {
	e := newEnv(t)
	c := New(Deps{Store: e.store, Driver: e.driver(), Router: e.router, Artifacts: e.arts, Home: e.home, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run stopped before it began: %v, want nil", err)
	}
}

// A running deployment's progress is summarised from what the service's
// loop last saw, not read afresh; the final report reads afresh.
func TestProgressSummarisesTheLoopsLastPass(t *testing.T) {
	e := newEnv(t)
	e.start()
	d1 := e.deploy(web(2, true, "HELLO_VERSION=v1"))
	if err := e.wait(d1.Deployment); err != nil {
		t.Fatalf("v1: %v", err)
	}
	e.stopCtl() // no loop passes from here on: seen stays as set below
	d2 := e.deploy(web(2, true, "HELLO_VERSION=v2"))
	ctx := context.Background()
	dep, err := e.store.GetDeployment(ctx, d2.Deployment)
	if err != nil {
		t.Fatal(err)
	}
	if dep.State.Terminal() {
		t.Fatalf("deployment %d is %s before any loop ran it", dep.ID, dep.State)
	}
	c := e.ctl
	c.mu.Lock()
	c.seen[dep.ServiceID] = deploy.ServiceState{Count: 2, Live: 1, Tasks: []deploy.Task{
		{ID: "a", Revision: dep.ToRevision, State: deploy.TaskHealthy},
		{ID: "b", Revision: dep.ToRevision, State: deploy.TaskHealthy},
	}}
	c.mu.Unlock()
	p, err := c.progress(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	if p.NewHealthy != 2 || p.Old != 0 {
		t.Fatalf("progress of a running deployment: %d new healthy, %d old; want the loop's view, 2 and 0", p.NewHealthy, p.Old)
	}
	dep.State = store.DeploySucceeded
	if p, err = c.progress(ctx, dep); err != nil {
		t.Fatal(err)
	}
	if p.NewHealthy != 0 || p.Old != 2 {
		t.Fatalf("final progress: %d new healthy, %d old; want the store's tasks, 0 and 2 of r1", p.NewHealthy, p.Old)
	}
}
