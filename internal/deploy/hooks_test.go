package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestBeforeTrafficHook(t *testing.T) {
	cases := []struct {
		name     string
		strategy Strategy
		policy   OnFailure
		fail     bool
		want     DeployState
	}{
		{"canary passes", StrategyCanary, OnFailureRollback, false, DeploySucceeded},
		{"canary fails: rollback", StrategyCanary, OnFailureRollback, true, DeployRolledBack},
		{"canary fails: continue", StrategyCanary, OnFailureContinue, true, DeploySucceeded},
		{"blue/green fails: rollback", StrategyBlueGreen, OnFailureRollback, true, DeployRolledBack},
		{"immutable fails: rollback", StrategyImmutable, OnFailureRollback, true, DeployRolledBack},
		{"rolling passes", StrategyRolling, OnFailureRollback, false, DeploySucceeded},
		{"rolling fails: rollback", StrategyRolling, OnFailureRollback, true, DeployRolledBack},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Params{Strategy: c.strategy, Steps: []Step{{Weight: 10, Pause: 2 * time.Second}}, AutoPromote: true,
				Hooks: map[HookName]OnFailure{HookBeforeTraffic: c.policy}}
			w := newWorld(t, 3, p)
			w.behave[2] = behaviour{HealthyAfter: 2}
			w.hookFail[HookBeforeTraffic] = c.fail
			w.hookTicks = 3
			w.minHealthy = 3
			w.rps = 100
			// No new task takes production traffic before the hook ended.
			w.onPlan = func(w *world, p Plan) {
				r := w.hooks[hookKey(HookBeforeTraffic, "d1", "")]
				ended := r != nil && r.State != HookRunning
				for _, a := range p.Actions {
					switch a := a.(type) {
					case SetWeights:
						if a.Weights["r2"] > 0 && !ended {
							t.Fatalf("step %d: r2 gets %d%% before before_traffic ended", w.step, a.Weights["r2"])
						}
					case RegisterTask:
						if c.strategy == StrategyRolling && !ended {
							t.Fatalf("step %d: rolling registers %s before before_traffic ended", w.step, a.ID)
						}
					}
				}
			}
			w.deploy("d1", KindDeploy, 2)
			d := w.run("d1", 80)
			if d.Status.State != c.want {
				t.Fatalf("state %s (%s), want %s", d.Status.State, d.Status.Reason, c.want)
			}
			if r := w.hooks[hookKey(HookBeforeTraffic, "d1", "")]; r == nil || !strings.HasPrefix(r.Task, "web-r2-") {
				t.Fatalf("hook run %+v: want one, in a task of r2", r)
			}
			if c.want == DeployRolledBack {
				if !strings.Contains(d.Status.Reason, "before_traffic hook failed") || w.served[2] != 0 || w.live != 1 {
					t.Fatalf("reason %q, r2 served %d, live r%d", d.Status.Reason, w.served[2], w.live)
				}
			}
		})
	}
}

// after_traffic runs once the new group has all traffic; its failure swaps
// back to the old set, still there.
func TestAfterTrafficFailureSwapsBack(t *testing.T) {
	p := bgParams()
	p.Hooks = map[HookName]OnFailure{HookAfterTraffic: OnFailureRollback}
	w := newWorld(t, 2, p)
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.hookFail[HookAfterTraffic] = true
	w.minHealthy = 2
	w.deploy("d1", KindDeploy, 2)
	d := w.run("d1", 60)
	if got := splits(w.weightLog); d.Status.State != DeployRolledBack || len(got) != 2 || got[0] != "main:0/r2:100" || got[1] != "main:100/r2:0" {
		t.Fatalf("%s, splits %v", d.Status.State, got)
	}
	if h, _ := w.tasksOf(1); h != 2 || w.live != 1 {
		t.Fatalf("r1 healthy %d live r%d", h, w.live)
	}
}

func TestLaunchHook(t *testing.T) {
	t.Run("gates registration", func(t *testing.T) {
		w := newWorld(t, 2, Params{Strategy: StrategyCanary, Hooks: map[HookName]OnFailure{HookLaunch: OnFailureRollback}})
		w.behave[2] = behaviour{HealthyAfter: 1}
		w.hookTicks = 2
		w.onPlan = func(w *world, p Plan) {
			for _, a := range p.Actions {
				if r, ok := a.(RegisterTask); ok {
					if h := w.hooks[hookKey(HookLaunch, "", r.ID)]; h == nil || h.State != HookPassed {
						t.Fatalf("step %d: %s registered before its launch hook passed (%+v)", w.step, r.ID, h)
					}
				}
			}
		}
		w.deploy("d1", KindDeploy, 2)
		if d := w.run("d1", 40); d.Status.State != DeploySucceeded {
			t.Fatalf("%s (%s)", d.Status.State, d.Status.Reason)
		}
	})
	t.Run("failure rolls back", func(t *testing.T) {
		w := newWorld(t, 2, Params{Strategy: StrategyCanary, Hooks: map[HookName]OnFailure{HookLaunch: OnFailureRollback}})
		w.behave[2] = behaviour{HealthyAfter: 1}
		w.hookFail[HookLaunch] = true
		w.deploy("d1", KindDeploy, 2)
		d := w.run("d1", 40)
		if d.Status.State != DeployRolledBack || !strings.Contains(d.Status.Reason, "launch hook failed") || w.served[2] != 0 {
			t.Fatalf("%s (%s), r2 served %d", d.Status.State, d.Status.Reason, w.served[2])
		}
	})
}

// A task starts with its router group named, to be registered as soon as
// it is launched, unless a hook must run first: launch runs in the task
// before it joins, before_traffic holds a rolling deployment's new tasks.
func TestStartTaskRegistersAtOnceUnlessAHookComesFirst(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params Params
		want   string
	}{
		{"rolling", Params{}, RollingGroup},
		{"canary: the deployment's new group", Params{Strategy: StrategyCanary, Steps: []Step{{Weight: 10}}}, "r2"},
		{"blue/green: the deployment's new group", Params{Strategy: StrategyBlueGreen}, "r2"},
		{"launch hook", Params{Hooks: map[HookName]OnFailure{HookLaunch: OnFailureRollback}}, ""},
		{"before_traffic hook", Params{Hooks: map[HookName]OnFailure{HookBeforeTraffic: OnFailureRollback}}, ""},
		{"after_traffic hook only", Params{Hooks: map[HookName]OnFailure{HookAfterTraffic: OnFailureRollback}}, RollingGroup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, tc.params)
			w.deploy("d1", KindDeploy, 2)
			var starts []StartTask
			for range 5 {
				for _, a := range w.reconcileOnce().Actions {
					if s, ok := a.(StartTask); ok {
						starts = append(starts, s)
					}
				}
				if len(starts) > 0 {
					break
				}
				w.tick()
			}
			if len(starts) == 0 {
				t.Fatalf("no task started\n%s", w.dump())
			}
			for _, s := range starts {
				if s.Register != tc.want {
					t.Fatalf("%s: Register %q, want %q", s.ID, s.Register, tc.want)
				}
			}
		})
	}
}
