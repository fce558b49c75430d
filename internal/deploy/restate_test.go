package deploy

import (
	"reflect"
	"testing"
	"time"
)

func trafficParams(st Strategy) Params {
	return Params{Strategy: st, TestRoute: true, AutoPromote: true,
		Steps:    []Step{{Weight: 10, Pause: 3 * time.Second}, {Weight: 50, Pause: 3 * time.Second}},
		Analysis: &Analysis{MaxErrorRate: 5, MinRequests: 5, Interval: 5 * time.Second, FailureLimit: 2},
		Hooks:    map[HookName]OnFailure{HookLaunch: OnFailureRollback, HookBeforeTraffic: OnFailureRollback, HookAfterTraffic: OnFailureRollback}}
}

// Dropping every other step's effects (the server died after recording)
// changes nothing in the outcome: router changes and hook runs are
// restated until they happened.
func TestTrafficCrashBetweenRecordAndPerform(t *testing.T) {
	for _, st := range []Strategy{StrategyCanary, StrategyBlueGreen, StrategyImmutable} {
		t.Run(string(st), func(t *testing.T) {
			w := newWorld(t, 4, trafficParams(st))
			w.behave[2] = behaviour{HealthyAfter: 2}
			w.minHealthy = 4
			w.rps, w.testRPS = 200, 10
			w.dropEffects = func(step int) bool { return step%2 == 1 }
			w.deploy("d1", KindDeploy, 2)
			if d := w.run("d1", 200); d.Status.State != DeploySucceeded {
				t.Fatalf("%+v\n%s", d.Status, w.dump())
			}
			want := map[Strategy][]string{
				StrategyCanary:    {"main:90/r2:10", "main:50/r2:50", "main:0/r2:100"},
				StrategyBlueGreen: {"main:0/r2:100"},
				StrategyImmutable: {"main:0/r2:100"},
			}[st]
			if got := splits(w.weightLog); !reflect.DeepEqual(got, want) {
				t.Fatalf("splits %v, want %v", got, want)
			}
		})
	}
}

// Reconciling the snapshot that holds a plan's records decides nothing
// new: it only restates effects still owed.
func TestTrafficRecordedPlanIsFixedPoint(t *testing.T) {
	w := newWorld(t, 4, trafficParams(StrategyCanary))
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.rps = 200
	w.deploy("d1", KindDeploy, 2)
	expectFixedPoint(t, w, 40, func(a Action) bool {
		switch a := a.(type) {
		case RunHook:
			r := w.hooks[hookKey(a.Hook, a.Deployment, a.Task)]
			return r != nil && r.State == HookRunning
		case SetWeights, SetRules:
			return true
		}
		return false
	})
}
