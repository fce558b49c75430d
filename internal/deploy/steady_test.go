package deploy

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func healthy(id string, rev int, started time.Duration) Task {
	return Task{ID: id, Revision: rev, State: TaskHealthy, StartedAt: t0.Add(started), HealthySince: t0.Add(started + time.Second)}
}

func TestSteadyState(t *testing.T) {
	cases := []struct {
		name   string
		count  int
		live   int
		tasks  []Task
		starts []string // ids
		stops  []string
		forget []string
	}{
		{name: "scale up from nothing", count: 3, live: 1,
			starts: []string{"web-r1-1", "web-r1-2", "web-r1-3"}},
		{name: "at count: nothing", count: 2, live: 1,
			tasks: []Task{healthy("a", 1, -10*time.Second), healthy("b", 1, -9*time.Second)}},
		{name: "scale down: unready first, then newest", count: 1, live: 1,
			tasks: []Task{healthy("a", 1, -10*time.Second), healthy("b", 1, -5*time.Second),
				{ID: "c", Revision: 1, State: TaskRunning, StartedAt: t0.Add(-20 * time.Second)}},
			stops: []string{"c", "b"}},
		{name: "scale to zero", count: 0, live: 1,
			tasks: []Task{healthy("a", 1, -10*time.Second), {ID: "p", Revision: 1, State: TaskPending}},
			stops: []string{"p", "a"}},
		{name: "unwanted revision stopped once live is full", count: 1, live: 2,
			tasks: []Task{healthy("old", 1, -time.Hour), healthy("new", 2, -time.Minute)},
			stops: []string{"old"}},
		{name: "unwanted healthy revision kept while live is short", count: 2, live: 2,
			tasks: []Task{healthy("old", 1, -time.Hour), healthy("new", 2, -time.Minute),
				{ID: "bad", Revision: 3, State: TaskRunning}},
			starts: []string{"web-r2-1"}, stops: []string{"bad"}},
		{name: "no live revision: nothing runs", count: 3, live: 0,
			tasks: []Task{healthy("a", 1, -time.Hour)}, stops: []string{"a"}},
		{name: "exited tasks are forgotten and replaced", count: 2, live: 1,
			tasks: []Task{healthy("a", 1, -time.Hour), {ID: "b", Revision: 1, State: TaskFailed, Exit: &Exit{Code: 1}},
				{ID: "c", Revision: 1, State: TaskStopped}},
			forget: []string{"b", "c"}, starts: []string{}}, // crash: backoff delays the start
		{name: "unhealthy replaced", count: 1, live: 1,
			tasks: []Task{{ID: "a", Revision: 1, State: TaskUnhealthy}}, stops: []string{"a"}, starts: []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Reconcile(ServiceState{Service: "web", Now: t0, Count: c.count, Live: c.live, Tasks: c.tasks})
			var starts, stops, forget []string
			for _, a := range p.Actions {
				switch a := a.(type) {
				case StartTask:
					starts = append(starts, a.ID)
				case StopTask:
					stops = append(stops, a.ID)
				case ForgetTask:
					forget = append(forget, a.ID)
				}
			}
			if !slices.Equal(starts, c.starts) || !slices.Equal(stops, c.stops) || !slices.Equal(forget, c.forget) {
				t.Fatalf("starts %v stops %v forget %v; want %v %v %v", starts, stops, forget, c.starts, c.stops, c.forget)
			}
		})
	}
}

// TestCrashBackoff drives a live revision whose tasks exit one tick after
// registration: replacements start 1s, 2s, 4s, 8s … after each crash, a
// crash loop is reported at the fifth, and a replacement that stays healthy
// for ResetAfter resets it all.
func TestCrashBackoff(t *testing.T) {
	w := newWorld(t, 1, Params{Backoff: Backoff{ResetAfter: 10 * time.Second}})
	w.behave[1] = behaviour{HealthyAfter: 5, Fail: "exit", FailAfter: 1}
	for _, st := range w.tasks {
		st.State, st.Exit = TaskFailed, &Exit{Code: 1}
	}
	var crashAt, startAt []time.Duration
	for range 200 {
		p := w.reconcileOnce()
		for _, a := range p.Actions {
			switch a := a.(type) {
			case StartTask:
				if w.tasks[a.ID].StartedAt.Equal(w.now) {
					startAt = append(startAt, w.now.Sub(t0))
				}
			case ForgetTask:
				crashAt = append(crashAt, w.now.Sub(t0))
			}
		}
		if len(crashAt) == 7 {
			break
		}
		w.tick()
	}
	var gaps []time.Duration
	for i := range min(len(crashAt), len(startAt)) {
		gaps = append(gaps, startAt[i]-crashAt[i])
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32}
	for i := range want {
		want[i] *= time.Second
	}
	if !reflect.DeepEqual(gaps[:6], want) {
		t.Fatalf("restart delays %v, want %v (crashes at %v, starts at %v)", gaps, want, crashAt, startAt)
	}
	if !w.status.CrashLoop || w.status.Crashes != 7 {
		t.Fatalf("status %+v, want crash loop after 7 crashes", w.status)
	}
	loops := 0
	for _, e := range w.events {
		if e.Type == EventServiceCrashLoop {
			loops++
		}
	}
	if loops != 1 {
		t.Fatalf("%d crash_loop events, want exactly 1", loops)
	}

	// The revision is fixed (say the database came back): the next
	// replacement stays healthy and, after ResetAfter, the loop is over.
	w.behave[1] = behaviour{HealthyAfter: 1}
	var recoveredAt time.Duration
	var healthyAt time.Time
	for range 200 {
		w.tick()
		w.reconcileOnce()
		for _, st := range w.tasks {
			if st.State == TaskHealthy && healthyAt.IsZero() {
				healthyAt = st.HealthySince
			}
		}
		if w.status.Crashes == 0 {
			recoveredAt = w.now.Sub(healthyAt)
			break
		}
	}
	if w.status.CrashLoop || recoveredAt != 10*time.Second {
		t.Fatalf("status %+v, reset %s after turning healthy, want 10s", w.status, recoveredAt)
	}
	if e := w.events[len(w.events)-1]; e.Type != EventServiceRecovered {
		t.Fatalf("last event %+v, want recovered", e)
	}
}

func TestBackoffWake(t *testing.T) {
	s := ServiceState{Service: "web", Now: t0, Count: 1, Live: 1,
		Status: ServiceStatus{Crashes: 3, LastCrashAt: t0.Add(-time.Second)}}
	p := Reconcile(s)
	if count[StartTask](p) != 0 || !p.Wake.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("plan %+v, want no start and wake at +3s (4s after the third crash)", p)
	}
	s.Now = t0.Add(3 * time.Second)
	if p := Reconcile(s); count[StartTask](p) != 1 {
		t.Fatalf("after the backoff: %+v", p)
	}
}

func TestDeterministic(t *testing.T) {
	s := rollingSnapshot(10, 2)
	s.Tasks = append(s.Tasks,
		Task{ID: "web-r2-20", Revision: 2, State: TaskHealthy, HealthySince: t0.Add(-3 * time.Second)},
		Task{ID: "web-r2-21", Revision: 2, State: TaskFailed},
		Task{ID: "web-r2-22", Revision: 2, State: TaskUnhealthy},
		Task{ID: "web-r1-30", Revision: 1, State: TaskDraining, StopReason: "replaced by r2"})
	s.Status.Seq = 30
	want := Reconcile(s)
	if len(want.Actions) == 0 {
		t.Fatal("empty plan")
	}
	for i := range 20 {
		shuffled := s
		shuffled.Tasks = slices.Clone(s.Tasks)
		// a fixed permutation per round keeps the test reproducible
		for j := range shuffled.Tasks {
			k := (j*7 + i*3) % len(shuffled.Tasks)
			shuffled.Tasks[j], shuffled.Tasks[k] = shuffled.Tasks[k], shuffled.Tasks[j]
		}
		if got := Reconcile(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: plan differs:\n%#v\nwant\n%#v", i, got, want)
		}
	}
}

func TestUnsupportedStrategyFails(t *testing.T) {
	s := rollingSnapshot(2, 2)
	s.Params.Strategy = "lottery"
	st := deploymentStatus(t, Reconcile(s))
	if st.State != DeployFailed || st.Reason != `deploy.strategy: "lottery" is not supported` {
		t.Fatalf("%+v", st)
	}
}
