package deploy

import (
	"reflect"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	s := rollingSnapshot(10, 2)
	for i := range 3 {
		s.Tasks = append(s.Tasks, Task{ID: "web-r2-n" + itoa(i), Revision: 2, State: TaskHealthy, HealthySince: t0.Add(-time.Second)})
	}
	s.Tasks = append(s.Tasks, Task{ID: "web-r1-x", Revision: 1, State: TaskDraining})
	d := s.Deployments[0]
	d.Status.Failures = 1
	got := Summarize(s, d)
	want := Progress{Deployment: "d1", Kind: KindDeploy, Strategy: StrategyRolling, State: DeployInProgress,
		From: 1, To: 2, Target: 2, Count: 10, Batch: 2, Batches: 4, NewHealthy: 3, NewTotal: 4, Old: 11,
		Failures: 1, Threshold: 5}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Summarize = %+v\nwant %+v", got, want)
	}
	if s := got.String(); s != "d1 in_progress: rolling r1 → r2, batch 2/4, new 3/4 healthy of 10, old 11, failures 1/5" {
		t.Fatalf("String() = %q", s)
	}
	d.Status.State, d.Status.Target, d.Status.Reason = DeployRollingBack, 1, "circuit breaker"
	if s := Summarize(s, d).String(); s != "d1 rolling_back: rolling r1 → r2 (back to r1), batch 4/4, new 10/10 healthy of 10, old 4, failures 1/5 — circuit breaker" {
		t.Fatalf("String() = %q", s)
	}
}
