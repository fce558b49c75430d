package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// TestRouterConfigFollowsTheLiveRevision: after a rollback to an older
// revision, the router gets that revision's routes and health check back,
// not those of the highest revision it was ever given.
func TestRouterConfigFollowsTheLiveRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.start()
	ctx := context.Background()
	v1 := web(1, true, "HELLO_VERSION=v1")
	v2 := web(1, true, "HELLO_VERSION=v2")
	v2.Routes = []config.Route{{Host: "hello.localhost"}, {Host: "v2.localhost"}}
	v2.Health.Path = "/"
	for _, svc := range []config.Service{v1, v2} {
		if err := e.wait(e.deploy(svc).Deployment); err != nil {
			t.Fatal(err)
		}
	}
	routerHas := func(routes int, path string) func() (bool, string) {
		return func() (bool, string) {
			s, err := e.router.Service(ctx, "hello/production/web")
			return err == nil && len(s.Routes) == routes && s.Health.Path == path,
				"the router has " + path + " with its routes (got " + s.Health.Path + ")"
		}
	}
	waitFor(t, 5*time.Second, routerHas(2, "/"))
	rb, err := c.Rollback(ctx, e.status().ServiceID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.wait(rb.Deployment); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, routerHas(1, "/healthz"))
	waitFor(t, 5*time.Second, func() (bool, string) { return e.serves("v1") })
}

// Which tasks' router targets a snapshot keeps; the others are strays.
func TestOwnsTarget(t *testing.T) {
	for s, want := range map[store.TaskState]bool{
		store.TaskPending:   true, // launching: registered before the snapshot saw the launch
		store.TaskStarting:  true,
		store.TaskRunning:   true,
		store.TaskHealthy:   true,
		store.TaskUnhealthy: true,
		store.TaskDraining:  true, // its stop removes the target after the drain
		store.TaskStopping:  false,
		store.TaskStopped:   false,
		store.TaskFailed:    false,
	} {
		if got := ownsTarget(s); got != want {
			t.Errorf("ownsTarget(%s) = %v, want %v", s, got, want)
		}
	}
}

// rowLosingDriver deletes the row of the first task it starts once the
// process runs: the record of that launch then fails, as when a task is
// forgotten while it starts.
type rowLosingDriver struct {
	planning
	store *store.Store
	once  sync.Once
	lost  chan string // the task whose row was deleted
}

// planning is a test's wrapper of the real driver that still says where a
// task will listen (runtime.AddrPlanner), so the controller registers the
// task while it starts.
type planning struct{ runtime.Driver }

func (d planning) PlannedAddr(port int) string {
	return d.Driver.(runtime.AddrPlanner).PlannedAddr(port)
}

func (d *rowLosingDriver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Status, error) {
	st, err := d.Driver.Start(ctx, spec)
	if err == nil {
		d.once.Do(func() {
			if derr := d.store.DeleteTask(ctx, spec.ID); derr == nil {
				d.lost <- spec.ID
			}
		})
	}
	return st, err
}

// TestStartRecordsLaunchAndRegistrationOrLeavesNothing: a task start
// writes its launched and registered lines, in that order; when its record
// fails (the row went away while the process started), the task is in
// neither the router nor the trace, its process is stopped, and another
// task makes the service whole.
func TestStartRecordsLaunchAndRegistrationOrLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lost := make(chan string, 1)
	e.tune = func(d *Deps) { d.Driver = &rowLosingDriver{planning: planning{d.Driver}, store: e.store, lost: lost} }
	e.start()
	ctx := context.Background()
	if err := e.wait(e.deploy(web(2, true)).Deployment); err != nil {
		t.Fatal(err)
	}
	var gone string
	select {
	case gone = <-lost:
	default:
		t.Fatal("no task row was deleted during its launch")
	}
	live := e.status().Tasks
	if len(live) != 2 {
		t.Fatalf("%d tasks, want 2", len(live))
	}
	waitFor(t, 5*time.Second, func() (bool, string) {
		s, err := e.router.Service(ctx, "hello/production/web")
		n := 0
		for _, g := range s.Groups {
			for _, tg := range g.Targets {
				if tg.ID == gone {
					return false, gone + " out of the router"
				}
				n++
			}
		}
		return err == nil && n == 2, "the router has the two live tasks"
	})
	waitFor(t, 5*time.Second, func() (bool, string) {
		return e.running()[gone] == 0, gone + "'s process stopped"
	})

	evs, err := e.store.ListEvents(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Task == gone && (ev.Type == EventTaskLaunched || ev.Type == EventTaskRegistered) {
			t.Errorf("the task whose launch was never recorded has a line: %s %s", ev.Type, ev.Message)
		}
	}
	for _, task := range live {
		if seen, want := launchTrace(evs, task.ID), []string{EventTaskLaunched, EventTaskRegistered}; !slices.Equal(seen, want) {
			t.Errorf("%s: trace %v, want %v", task.ID, seen, want)
		}
	}
}

// launchTrace is the types of task id's launched and registered lines in
// evs, in order.
func launchTrace(evs []store.Event, id string) []string {
	var seen []string
	for _, ev := range evs {
		if ev.Task == id && (ev.Type == EventTaskLaunched || ev.Type == EventTaskRegistered) {
			seen = append(seen, ev.Type)
		}
	}
	return seen
}

// gateDriver holds each Start until the test lets it go on, failing it
// when told to.
type gateDriver struct {
	planning
	starting chan runtime.TaskSpec
	goOn     chan error // nil: start; an error: fail with it
}

// gateStarts wraps the driver of e's controller in a gateDriver.
func gateStarts(e *env) *gateDriver {
	g := &gateDriver{starting: make(chan runtime.TaskSpec), goOn: make(chan error)}
	tune := e.tune
	e.tune = func(d *Deps) {
		if tune != nil {
			tune(d)
		}
		g.Driver, d.Driver = d.Driver, g
	}
	return g
}

func (d *gateDriver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Status, error) {
	select {
	case d.starting <- spec:
	case <-ctx.Done():
		return runtime.Status{}, ctx.Err()
	}
	select {
	case err := <-d.goOn:
		if err != nil {
			return runtime.Status{}, err
		}
	case <-ctx.Done():
		return runtime.Status{}, ctx.Err()
	}
	return d.Driver.Start(ctx, spec)
}

// next returns the spec of the next task whose Start the gate holds.
func (d *gateDriver) next(t *testing.T) runtime.TaskSpec {
	t.Helper()
	select {
	case spec := <-d.starting:
		return spec
	case <-time.After(10 * time.Second):
		t.Fatal("no task start within 10s")
	}
	panic("unreachable")
}

// target is the address and health of the web service's router target id
// ("" when the router has none).
func (e *env) target(id string) (addr, health string) {
	s, _ := e.router.Service(context.Background(), "hello/production/web")
	for _, g := range s.Groups {
		for _, tg := range g.Targets {
			if tg.ID == id {
				return tg.Addr, string(tg.Health)
			}
		}
	}
	return "", ""
}

// TestTaskIsRegisteredWhileItStarts: with a driver that knows a task's
// address before it runs, the address is recorded on the pending row and
// the task put in the router (not yet healthy) while the driver is still
// starting it. A launch that fails leaves it out of the router; one that
// succeeds traces launched, then registered.
func TestTaskIsRegisteredWhileItStarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gate := gateStarts(e)
	e.start()
	ctx := context.Background()
	dep := e.deploy(web(1, true)).Deployment

	first := gate.next(t)
	addr := "127.0.0.1:" + strconv.Itoa(first.Port)
	waitFor(t, 5*time.Second, func() (bool, string) {
		row, err := e.store.GetTask(ctx, first.ID)
		got, health := e.target(first.ID)
		return err == nil && row.State == store.TaskPending && row.Addr == addr && row.Port == first.Port &&
				got == addr && health == "initial",
			fmt.Sprintf("while its driver starts it: the row %s at %q port %d (%v), want pending at %s; the router's target at %q %s, want %s initial",
				row.State, row.Addr, row.Port, err, addr, got, health, addr)
	})
	gate.goOn <- errors.New("gate: refused")
	waitFor(t, 5*time.Second, func() (bool, string) {
		row, err := e.store.GetTask(ctx, first.ID)
		got, _ := e.target(first.ID)
		return got == "" && ((err == nil && row.State == store.TaskFailed) || errors.Is(err, store.ErrNotFound)),
			first.ID + " recorded failed (or forgotten since) and out of the router (at " + got + ")"
	})

	second := gate.next(t)
	gate.goOn <- nil
	if err := e.wait(dep); err != nil {
		t.Fatal(err)
	}
	if got, health := e.target(second.ID); got != "127.0.0.1:"+strconv.Itoa(second.Port) || health != "healthy" {
		t.Fatalf("%s in the router at %q, %s; want its port, healthy", second.ID, got, health)
	}
	evs, err := e.store.ListEvents(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if seen, want := launchTrace(evs, second.ID), []string{EventTaskLaunched, EventTaskRegistered}; !slices.Equal(seen, want) {
		t.Errorf("%s: trace %v, want %v", second.ID, seen, want)
	}
}

// heldRouter lets a test hold every read of a service's router status: a
// loop's pass then waits in its snapshot and records nothing it would have
// observed.
type heldRouter struct {
	*client.Client
	mu   sync.Mutex
	held chan struct{} // nil: not held
}

func (r *heldRouter) hold() {
	r.mu.Lock()
	r.held = make(chan struct{})
	r.mu.Unlock()
}

func (r *heldRouter) release() {
	r.mu.Lock()
	close(r.held)
	r.held = nil
	r.mu.Unlock()
}

func (r *heldRouter) Service(ctx context.Context, name string) (api.ServiceStatus, error) {
	r.mu.Lock()
	held := r.held
	r.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return api.ServiceStatus{}, ctx.Err()
		}
	}
	return r.Client.Service(ctx, name)
}

// TestTaskInTheRouterIsRecordedRunningAtLaunch: a task the router took
// while it started is recorded running by its launch: the loop, held from
// reading the router, has no pass that could observe it and record it so.
// Its trace is launched, then registered.
func TestTaskInTheRouterIsRecordedRunningAtLaunch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	held := &heldRouter{Client: e.router}
	e.tune = func(d *Deps) { d.Router = held }
	gate := gateStarts(e)
	e.start()
	ctx := context.Background()
	dep := e.deploy(web(1, true)).Deployment
	spec := gate.next(t)
	addr := "127.0.0.1:" + strconv.Itoa(spec.Port)
	waitFor(t, 5*time.Second, func() (bool, string) {
		got, _ := e.target(spec.ID)
		return got == addr, spec.ID + " in the router at " + addr + " while it starts (got " + got + ")"
	})
	held.hold()
	gate.goOn <- nil
	var seen []string
	waitFor(t, 5*time.Second, func() (bool, string) {
		evs, err := e.store.ListEvents(ctx, store.EventFilter{})
		seen = launchTrace(evs, spec.ID)
		return err == nil && len(seen) == 2, spec.ID + "'s launched and registered lines"
	})
	row, err := e.store.GetTask(ctx, spec.ID)
	held.release()
	if err != nil || row.State != store.TaskRunning || row.Addr != addr {
		t.Errorf("after its launch, before any pass saw it: %s at %q (%v); want running at %s", row.State, row.Addr, err, addr)
	}
	if want := []string{EventTaskLaunched, EventTaskRegistered}; !slices.Equal(seen, want) {
		t.Errorf("%s: trace %v, want %v", spec.ID, seen, want)
	}
	if err := e.wait(dep); err != nil {
		t.Fatal(err)
	}
}
