package deploy

import (
	"reflect"
	"testing"
	"time"
)

func bgParams() Params {
	return Params{Strategy: StrategyBlueGreen, TestRoute: true, AutoPromote: true, TerminateOldAfter: 20 * time.Second}
}

func TestBlueGreenAutoPromote(t *testing.T) {
	w := newWorld(t, 3, bgParams())
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.minHealthy = 3
	w.rps, w.testRPS = 100, 5
	var testedBefore bool
	w.onPlan = func(w *world, p Plan) {
		if count[SetWeights](p) > 0 && w.router.TestGroup == "r2" {
			testedBefore = true
		}
	}
	w.deploy("d1", KindDeploy, 2)
	w.until("promoted", 40, func() bool { return w.router.Weights["r2"] == 100 })
	switched := w.now
	if !testedBefore {
		t.Fatalf("test traffic did not reach green before promotion")
	}
	if _, all := w.tasksOf(1); all != 3 {
		t.Fatalf("blue has %d tasks right after promotion, want 3 kept", all)
	}
	w.until("blue stopped", 40, func() bool { _, all := w.tasksOf(1); return all < 3 })
	if kept := w.now.Sub(switched); kept < 20*time.Second {
		t.Fatalf("blue stopped %s after promotion, terminate_old_after is 20s", kept)
	}
	d := w.run("d1", 40)
	if d.Status.State != DeploySucceeded || w.live != 2 || w.router.TestGroup != "" {
		t.Fatalf("%s live r%d test group %q", d.Status.State, w.live, w.router.TestGroup)
	}
	if got := splits(w.weightLog); !reflect.DeepEqual(got, []string{"main:0/r2:100"}) {
		t.Fatalf("splits %v: promotion must move all traffic in one change", got)
	}
}

func TestBlueGreenWaitsForPromote(t *testing.T) {
	cases := []struct {
		name      string
		timeout   time.Duration
		continue_ bool
		promote   bool
		want      DeployState
	}{
		{"promote", 0, false, true, DeploySucceeded},
		{"ready timeout: stop", 30 * time.Second, false, false, DeployRolledBack},
		{"ready timeout: continue", 30 * time.Second, true, false, DeploySucceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := bgParams()
			p.AutoPromote, p.ReadyTimeout, p.ContinueOnTimeout, p.TerminateOldAfter = false, c.timeout, c.continue_, 0
			w := newWorld(t, 2, p)
			w.behave[2] = behaviour{HealthyAfter: 2}
			w.minHealthy = 2
			w.deploy("d1", KindDeploy, 2)
			w.until("green ready", 30, func() bool { return w.router.TestGroup == "r2" })
			ready := w.now
			for range 20 {
				w.tick()
				w.reconcileOnce()
			}
			if w.router.Weights["r2"] != 0 {
				t.Fatalf("promoted on its own: %v", w.router.Weights)
			}
			if c.promote {
				w.control("d1", func(c *Controls) { c.Promote = 1 })
			}
			d := w.run("d1", 60)
			if d.Status.State != c.want {
				t.Fatalf("state %s (%s), want %s", d.Status.State, d.Status.Reason, c.want)
			}
			if c.timeout > 0 && d.Status.EndedAt.Sub(ready) < c.timeout {
				t.Fatalf("ended %s after green was ready, before ready_timeout %s", d.Status.EndedAt.Sub(ready), c.timeout)
			}
			if c.want == DeployRolledBack && (w.live != 1 || w.router.Weights["main"] != 100 || w.router.TestGroup != "") {
				t.Fatalf("after a stop: live r%d router %v", w.live, w.router)
			}
		})
	}
}

func TestBlueGreenAbort(t *testing.T) {
	p := bgParams()
	p.AutoPromote = false
	w := newWorld(t, 2, p)
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.minHealthy = 2
	w.rps, w.testRPS = 50, 5
	w.deploy("d1", KindDeploy, 2)
	w.until("test traffic reaches green", 40, func() bool { return w.served[2] > 0 })
	w.control("d1", func(c *Controls) { c.Abort = true })
	d := w.run("d1", 30)
	served := w.served[2]
	for range 10 {
		w.tick()
		w.reconcileOnce()
	}
	if d.Status.State != DeployAborted || w.router.TestGroup != "" || w.served[2] != served || w.live != 1 {
		t.Fatalf("%s test group %q r2 served %d→%d live r%d", d.Status.State, w.router.TestGroup, served, w.served[2], w.live)
	}
	if len(w.weightLog) > 0 && w.weightLog[len(w.weightLog)-1]["r2"] != 0 {
		t.Fatalf("weights %v", w.weightLog)
	}
}

// Immutable starts a complete new set beside the old one (capacity
// doubles), moves traffic once all of it is healthy, then scales in.
func TestImmutable(t *testing.T) {
	w := newWorld(t, 3, Params{Strategy: StrategyImmutable})
	w.behave[2] = behaviour{HealthyAfter: 3}
	w.minHealthy = 3
	w.maxActive = 6
	peak := 0
	var healthyAtSwitch int
	w.onPlan = func(w *world, p Plan) {
		_, active := w.counts()
		peak = max(peak, active+count[StartTask](p))
		if count[SetWeights](p) > 0 {
			healthyAtSwitch, _ = w.tasksOf(2)
		}
	}
	w.deploy("d1", KindDeploy, 2)
	d := w.run("d1", 60)
	if d.Status.State != DeploySucceeded || peak != 6 || healthyAtSwitch != 3 || len(w.tasks) != 3 {
		t.Fatalf("%s, peak %d tasks, %d new healthy at the switch, %d left; want succeeded, 6, 3, 3", d.Status.State, peak, healthyAtSwitch, len(w.tasks))
	}
	if got := splits(w.weightLog); !reflect.DeepEqual(got, []string{"main:0/r2:100"}) {
		t.Fatalf("splits %v", got)
	}
}

// A traffic strategy's first deployment has nothing to share traffic with.
func TestTrafficStrategyFromNothing(t *testing.T) {
	for _, st := range []Strategy{StrategyBlueGreen, StrategyCanary, StrategyImmutable} {
		t.Run(string(st), func(t *testing.T) {
			w := newWorld(t, 0, Params{Strategy: st, Steps: []Step{{Weight: 10, WaitForPromote: true}}})
			w.count, w.live, w.router.Weights = 2, 0, map[string]int{}
			w.behave[1] = behaviour{HealthyAfter: 2}
			w.deploy("d1", KindDeploy, 1)
			if d := w.run("d1", 30); d.Status.State != DeploySucceeded || w.live != 1 || w.router.Weights["r1"] != 100 {
				t.Fatalf("%s live r%d weights %v", d.Status.State, w.live, w.router.Weights)
			}
		})
	}
}

// The group after a traffic deployment becomes the stable one; a later
// rolling deployment joins it, a later canary gets its own.
func TestStrategiesChain(t *testing.T) {
	w := newWorld(t, 2, Params{Strategy: StrategyCanary, Steps: []Step{{Weight: 50, Pause: time.Second}}})
	w.behave[2], w.behave[3], w.behave[4] = behaviour{HealthyAfter: 2}, behaviour{HealthyAfter: 2}, behaviour{HealthyAfter: 2}
	w.minHealthy = 2
	w.deploy("d1", KindDeploy, 2)
	w.run("d1", 60)
	w.params = Params{}
	w.deploy("d2", KindDeploy, 3)
	w.run("d2", 60)
	for _, st := range w.tasks {
		if st.Group != "r2" {
			t.Fatalf("rolling put %s in %s, want the stable group r2", st.ID, st.Group)
		}
	}
	w.params = Params{Strategy: StrategyCanary, Steps: []Step{{Weight: 50, Pause: time.Second}}}
	w.deploy("d3", KindDeploy, 4)
	if d := w.run("d3", 60); d.Status.State != DeploySucceeded || w.status.Group != "r4" || w.router.Weights["r4"] != 100 || w.router.Weights["r2"] != 0 {
		t.Fatalf("%s group %q weights %v", d.Status.State, w.status.Group, w.router.Weights)
	}
}
