package deploy

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

// splits renders the weights log as "main:90/r2:10" strings.
func splits(log []map[string]int) []string {
	var out []string
	for _, m := range log {
		s := ""
		for _, g := range slices.Sorted(maps.Keys(m)) {
			if s != "" {
				s += "/"
			}
			s += fmt.Sprintf("%s:%d", g, m[g])
		}
		out = append(out, s)
	}
	return out
}

// capacityAtWeights records, at each SetWeights, how many tasks of rev are
// healthy in the group the weights name with a share above 0.
func capacityAtWeights(rev int, got *[]int) func(*world, Plan) {
	return func(w *world, p Plan) {
		for _, a := range p.Actions {
			if _, ok := a.(SetWeights); ok {
				h, _ := w.tasksOf(rev)
				*got = append(*got, h)
			}
		}
	}
}

func TestCanaryCompletes(t *testing.T) {
	cases := []struct {
		name      string
		count     int
		steps     []Step
		fixed     bool
		wantSplit []string
		wantCap   []int // healthy new tasks when each split is applied
	}{
		{"two steps, scaled", 4, []Step{{Weight: 10, Pause: 10 * time.Second}, {Weight: 50, Pause: 10 * time.Second}}, false,
			[]string{"main:90/r2:10", "main:50/r2:50", "main:0/r2:100"}, []int{1, 2, 4}},
		{"two steps, fixed", 4, []Step{{Weight: 10, Pause: 10 * time.Second}, {Weight: 50, Pause: 10 * time.Second}}, true,
			[]string{"main:90/r2:10", "main:50/r2:50", "main:0/r2:100"}, []int{4, 4, 4}},
		{"linear10 (preset expanded)", 3, linear(10, time.Second), false,
			[]string{"main:90/r2:10", "main:80/r2:20", "main:70/r2:30", "main:60/r2:40", "main:50/r2:50",
				"main:40/r2:60", "main:30/r2:70", "main:20/r2:80", "main:10/r2:90", "main:0/r2:100"},
			[]int{1, 1, 1, 2, 2, 2, 3, 3, 3, 3}},
		{"all at once", 2, nil, false, []string{"main:0/r2:100"}, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, c.count, Params{Strategy: StrategyCanary, Steps: c.steps, FixedCapacity: c.fixed})
			w.behave[2] = behaviour{HealthyAfter: 2}
			w.minHealthy = c.count
			var caps []int
			w.onPlan = capacityAtWeights(2, &caps)
			w.deploy("d1", KindDeploy, 2)
			d := w.run("d1", 200)
			if d.Status.State != DeploySucceeded || w.live != 2 || w.status.Group != "r2" {
				t.Fatalf("state %s live r%d group %q", d.Status.State, w.live, w.status.Group)
			}
			if got := splits(w.weightLog); !reflect.DeepEqual(got, c.wantSplit) {
				t.Fatalf("splits %v\nwant %v", got, c.wantSplit)
			}
			if !reflect.DeepEqual(caps, c.wantCap) {
				t.Fatalf("new healthy tasks at each split %v, want %v", caps, c.wantCap)
			}
			if h, all := w.tasksOf(2); h != c.count || all != c.count || len(w.tasks) != c.count {
				t.Fatalf("r2 %d healthy of %d, %d tasks; want %d\n%s", h, all, len(w.tasks), c.count, w.dump())
			}
		})
	}
}

func linear(pct int, pause time.Duration) []Step {
	var out []Step
	for w := pct; w < 100; w += pct {
		out = append(out, Step{Weight: w, Pause: pause})
	}
	return out
}

// Each step holds its weight for its pause before the next one applies.
func TestCanaryStepPauses(t *testing.T) {
	w := newWorld(t, 2, Params{Strategy: StrategyCanary, Steps: []Step{{Weight: 25, Pause: 30 * time.Second}}})
	w.behave[2] = behaviour{HealthyAfter: 2}
	var at []time.Time
	w.onPlan = func(w *world, p Plan) {
		if count[SetWeights](p) > 0 {
			at = append(at, w.now)
		}
	}
	w.deploy("d1", KindDeploy, 2)
	w.run("d1", 100)
	if len(at) != 2 || at[1].Sub(at[0]) < 30*time.Second || at[1].Sub(at[0]) > 35*time.Second {
		t.Fatalf("weights applied at %v; want the second 30s (+ capacity) after the first", at)
	}
}

func TestPromoteAndAbortMidCanary(t *testing.T) {
	steps := []Step{{Weight: 10, WaitForPromote: true}, {Weight: 50, WaitForPromote: true}, {Weight: 75, WaitForPromote: true}}
	t.Run("promote, then promote --full", func(t *testing.T) {
		w := newWorld(t, 4, Params{Strategy: StrategyCanary, Steps: steps})
		w.behave[2] = behaviour{HealthyAfter: 2}
		w.minHealthy = 4
		w.deploy("d1", KindDeploy, 2)
		w.until("10%", 30, func() bool { return w.router.Weights["r2"] == 10 })
		for range 60 { // a step without a pause waits for a promote, however long
			w.tick()
			w.reconcileOnce()
		}
		if w.router.Weights["r2"] != 10 || w.dep("d1").Status.State != DeployInProgress {
			t.Fatalf("moved without a promote: %v %s", w.router.Weights, w.dep("d1").Status.State)
		}
		w.control("d1", func(c *Controls) { c.Promote++ })
		w.until("50%", 30, func() bool { return w.router.Weights["r2"] == 50 })
		w.control("d1", func(c *Controls) { c.Promote++; c.PromoteFull = true })
		d := w.run("d1", 60)
		want := []string{"main:90/r2:10", "main:50/r2:50", "main:0/r2:100"}
		if got := splits(w.weightLog); d.Status.State != DeploySucceeded || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s, splits %v; want succeeded %v", d.Status.State, got, want)
		}
	})
	t.Run("abort at 50%", func(t *testing.T) {
		w := newWorld(t, 4, Params{Strategy: StrategyCanary, Steps: steps})
		w.behave[2] = behaviour{HealthyAfter: 2}
		w.minHealthy = 4
		w.deploy("d1", KindDeploy, 2)
		w.until("10%", 30, func() bool { return w.router.Weights["r2"] == 10 })
		w.control("d1", func(c *Controls) { c.Promote++ })
		w.until("50%", 30, func() bool { return w.router.Weights["r2"] == 50 })
		w.control("d1", func(c *Controls) { c.Abort = true })
		if a := firstEffect(w.reconcileOnce()); !isSwapBack(a) {
			t.Fatalf("abort's first effect %#v, want all traffic to main", a)
		}
		if s := w.dep("d1").Status; s.State != DeployRollingBack {
			t.Fatalf("state %s in the plan that swaps back: it may end only once the router shows the split", s.State)
		}
		w.reconcileOnce()
		if s := w.dep("d1").Status; s.State != DeployAborted {
			t.Fatalf("state %s once the router shows the split, want aborted", s.State)
		}
		d := w.run("d1", 30)
		if d.Status.State != DeployAborted || w.live != 1 || w.router.Weights["main"] != 100 || w.router.Weights["r2"] != 0 {
			t.Fatalf("%s live r%d weights %v", d.Status.State, w.live, w.router.Weights)
		}
		if h, all := w.tasksOf(2); all != 0 || h != 0 {
			t.Fatalf("r2 tasks left: %d\n%s", all, w.dump())
		}
		if h, _ := w.tasksOf(1); h != 4 {
			t.Fatalf("r1 %d healthy, want 4", h)
		}
	})
}

func TestPauseResume(t *testing.T) {
	w := newWorld(t, 2, Params{Strategy: StrategyCanary, Steps: []Step{{Weight: 20, Pause: 5 * time.Second}}})
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.deploy("d1", KindDeploy, 2)
	w.until("20%", 30, func() bool { return w.router.Weights["r2"] == 20 })
	w.control("d1", func(c *Controls) { c.Pause = true })
	w.reconcileOnce()
	if s := w.dep("d1").Status; s.State != DeployPaused {
		t.Fatalf("state %s, want paused", s.State)
	}
	for range 30 {
		w.tick()
		w.reconcileOnce()
	}
	if w.router.Weights["r2"] != 20 || w.dep("d1").Status.State != DeployPaused {
		t.Fatalf("moved while paused: %v", w.router.Weights)
	}
	w.control("d1", func(c *Controls) { c.Pause = false })
	if d := w.run("d1", 40); d.Status.State != DeploySucceeded {
		t.Fatalf("after resume: %s", d.Status.State)
	}
	want := []EventType{EventDeploymentStarted, EventDeploymentStep, EventDeploymentPaused, EventDeploymentResumed,
		EventDeploymentStep, EventDeploymentSucceeded}
	if got := w.eventTypes(); !equal(got, want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}
}
