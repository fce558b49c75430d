package deploy

import (
	"testing"
	"time"
)

// BenchmarkReconcile50 is one decision on a 50-task service mid-rollout
// (the budget is 50 ms of controller overhead per batch).
func BenchmarkReconcile50(b *testing.B) {
	s := rollingSnapshot(50, 2)
	s.Params.MinHealthyTime = time.Second
	for i := range 10 {
		s.Tasks = append(s.Tasks, Task{ID: "web-r2-h" + itoa(i), Revision: 2, State: TaskHealthy, HealthySince: t0.Add(-2 * time.Second)})
	}
	b.ReportAllocs()
	for b.Loop() {
		Reconcile(s)
	}
}
