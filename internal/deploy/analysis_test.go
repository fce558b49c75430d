package deploy

import (
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	a := Analysis{MaxErrorRate: 1, MaxP99: 300 * time.Millisecond, MinRequests: 50}
	cases := []struct {
		name string
		s    Sample
		want Verdict
	}{
		{"healthy", Sample{Requests: 100, Errors: 1, P99: 100 * time.Millisecond}, VerdictPass},
		{"error rate just above", Sample{Requests: 1000, Errors: 11}, VerdictFail},
		{"error rate at the limit", Sample{Requests: 1000, Errors: 10}, VerdictPass},
		{"slow", Sample{Requests: 100, P99: 301 * time.Millisecond}, VerdictFail},
		{"too few requests, all failing", Sample{Requests: 49, Errors: 49}, VerdictInconclusive},
		{"no traffic", Sample{}, VerdictInconclusive},
		{"webhook says no", Sample{Requests: 100, WebhookFailure: "https://check: 503"}, VerdictFail},
		{"webhook unreachable", Sample{Requests: 100, WebhookError: "timeout"}, VerdictInconclusive},
	}
	for _, c := range cases {
		if got, why := Judge(a, c.s); got != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, got, why, c.want)
		}
	}
	if v, _ := Judge(Analysis{MaxErrorRate: 1}, Sample{Requests: 1, Errors: 1}); v != VerdictFail {
		t.Errorf("min_requests 0: one failing request is conclusive, got %s", v)
	}
}

func analysisParams(st Strategy) Params {
	return Params{Strategy: st, Steps: []Step{{Weight: 20, Pause: 5 * time.Minute}},
		Analysis: &Analysis{MaxErrorRate: 5, MinRequests: 20, Interval: 5 * time.Second, FailureLimit: 2, InconclusiveLimit: 3}}
}

// A canary failing 20% of its requests is rolled back by analysis within
// interval × failure_limit + interval of taking traffic, by a weight
// change, and the stable revision never fails a request.
func TestAnalysisRollsBackCanary(t *testing.T) {
	w := newWorld(t, 4, analysisParams(StrategyCanary))
	w.behave[2] = behaviour{HealthyAfter: 2, FailPercent: 20}
	w.minHealthy = 4
	w.rps = 200
	w.deploy("d1", KindDeploy, 2)
	w.until("canary takes traffic", 30, func() bool { return w.router.Weights["r2"] == 20 })
	from := w.now
	w.until("traffic back on stable", 30, func() bool { return w.router.Weights["r2"] == 0 && w.router.Weights["main"] == 100 })
	if took, limit := w.now.Sub(from), 15*time.Second; took > limit {
		t.Fatalf("rolled back %s after the canary took traffic, limit %s", took, limit)
	}
	d := w.run("d1", 20)
	if d.Status.State != DeployRolledBack || d.Status.Analysis.Failures != 2 || w.failed[1] != 0 || w.failed[2] == 0 {
		t.Fatalf("%s (%s), analysis %+v, r1 failed %d r2 failed %d", d.Status.State, d.Status.Reason, d.Status.Analysis, w.failed[1], w.failed[2])
	}
	if _, all := w.tasksOf(2); all != 0 {
		t.Fatalf("canary tasks left\n%s", w.dump())
	}
}

// Rolling has no group of its own: analysis judges the shared group and a
// failure rolls the movement back.
func TestAnalysisRollsBackRolling(t *testing.T) {
	p := analysisParams(StrategyRolling)
	p.MinHealthyTime = 10 * time.Second
	w := newWorld(t, 4, p)
	w.behave[2] = behaviour{HealthyAfter: 2, FailPercent: 60}
	w.rps = 200
	w.deploy("d1", KindDeploy, 2)
	d := w.run("d1", 120)
	if d.Status.State != DeployRolledBack || w.live != 1 {
		t.Fatalf("%s (%s) live r%d", d.Status.State, d.Status.Reason, w.live)
	}
}

// Too little traffic never fails a deployment: the step waits, and after
// inconclusive_limit checks a human is asked.
func TestAnalysisInconclusivePauses(t *testing.T) {
	p := analysisParams(StrategyCanary)
	p.Steps[0].Pause = 0
	w := newWorld(t, 2, p)
	w.behave[2] = behaviour{HealthyAfter: 2, FailPercent: 100}
	w.rps = 10 // 2 canary requests a tick: 10 per interval, below 20
	w.deploy("d1", KindDeploy, 2)
	w.until("held", 60, func() bool { return w.dep("d1").Status.State == DeployPaused })
	st := w.dep("d1").Status
	if st.Hold == "" || st.Analysis.Inconclusive != 3 || st.Analysis.Failures != 0 || w.router.Weights["r2"] != 20 {
		t.Fatalf("status %+v weights %v", st, w.router.Weights)
	}
	w.control("d1", func(c *Controls) { c.Resume++ })
	w.reconcileOnce()
	if s := w.dep("d1").Status; s.State != DeployInProgress || s.Hold != "" {
		t.Fatalf("after resume: %s hold %q", s.State, s.Hold)
	}
	w.until("held again", 60, func() bool { return w.dep("d1").Status.State == DeployPaused })
	w.control("d1", func(c *Controls) { c.Promote++ })
	if d := w.run("d1", 60); d.Status.State != DeploySucceeded {
		t.Fatalf("after promote: %s (%s)", d.Status.State, d.Status.Reason)
	}
}

// A step without a pause still waits for a passing check of its own
// traffic before the next weight.
func TestAnalysisGatesSteps(t *testing.T) {
	p := analysisParams(StrategyCanary)
	p.Steps = []Step{{Weight: 20}}
	w := newWorld(t, 2, p)
	w.behave[2] = behaviour{HealthyAfter: 2}
	w.rps = 200
	var at []time.Time
	w.onPlan = func(w *world, p Plan) {
		if count[SetWeights](p) > 0 {
			at = append(at, w.now)
		}
	}
	w.deploy("d1", KindDeploy, 2)
	d := w.run("d1", 60)
	if d.Status.State != DeploySucceeded || len(at) != 2 || at[1].Sub(at[0]) < 5*time.Second {
		t.Fatalf("%s, weights at %v: want 100%% at least one interval after 20%%", d.Status.State, at)
	}
	if d.Status.Analysis.Checks == 0 || d.Status.Analysis.Verdict != VerdictPass {
		t.Fatalf("analysis %+v", d.Status.Analysis)
	}
}

// BenchmarkRollbackDecision is Reconcile on the snapshot where a canary's
// analysis reaches failure_limit: the decision whose first action sends
// all traffic back to the stable group.
func BenchmarkRollbackDecision(b *testing.B) {
	s := ServiceState{Service: "web", Now: t0, Count: 10, Live: 1,
		Params: analysisParams(StrategyCanary), Router: &RouterView{Weights: map[string]int{"main": 80, "r2": 20}}}
	for i := range 10 {
		s.Tasks = append(s.Tasks, Task{ID: "web-r1-" + itoa(i), Revision: 1, State: TaskHealthy, Group: "main", HealthySince: t0.Add(-time.Hour)})
	}
	for i := range 2 {
		s.Tasks = append(s.Tasks, Task{ID: "web-r2-" + itoa(i+10), Revision: 2, State: TaskHealthy, Group: "r2", HealthySince: t0.Add(-time.Minute)})
	}
	s.Deployments = []Deployment{{ID: "d1", To: 2, Status: Status{State: DeployInProgress, From: 1, Target: 2, Group: "r2", Stable: "main",
		Weight: 20, Applied: true, StepAt: t0.Add(-20 * time.Second), ProgressAt: t0.Add(-20 * time.Second),
		Analysis: AnalysisStatus{Group: "r2", Since: t0.Add(-20 * time.Second), Checks: 1, Failures: 1, Last: Sample{At: t0.Add(-5 * time.Second)}}}}}
	s.Samples = map[string]Sample{"r2": {At: t0, Requests: 400, Errors: 80}}
	if a := firstEffect(Reconcile(s)); !isSwapBack(a) {
		b.Fatalf("first effect %#v, want all traffic to main", a)
	}
	b.ReportAllocs()
	for b.Loop() {
		Reconcile(s)
	}
}
