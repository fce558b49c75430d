package router

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// TestChurnUnderLoad: constant load while targets are added, put in
// rotation, drained, removed and then stopped, 50 times → 0 failed requests.
func TestChurnUnderLoad(t *testing.T) {
	rt, base := startRouter(t, Options{})
	stable := newBackend(t, "stable")
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth, DrainTimeout: 5 * time.Second},
		map[string][]*backend{"v1": {stable}})
	stop := make(chan struct{})
	l := startLoad(t, base, "web.test", 8, 200_000, stop)
	deadline := time.Now().Add(30 * time.Second)
	rounds := 0
	for ; rounds < 50 && time.Now().Before(deadline); rounds++ {
		i := rounds
		b := newBackend(t, fmt.Sprintf("task-%d", i))
		grp := "v1"
		if i%2 == 1 {
			grp = "v2" // a second revision's group, created and removed
		}
		if err := rt.AddTarget("web", grp, b.target()); err != nil {
			t.Fatal(err)
		}
		if grp == "v2" {
			if err := rt.SetWeights("web", map[string]int{"v1": 50, "v2": 50}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, b.name+" healthy", 5*time.Second, func() bool { return health(t, rt, "web", grp, b.name) == api.TargetHealthy })
		before := b.hits.Load()
		waitFor(t, b.name+" serving", 5*time.Second, func() bool { return b.hits.Load() > before })
		var err error
		if grp == "v2" {
			_, err = rt.RemoveGroup("web", grp)
		} else {
			_, err = rt.RemoveTarget("web", grp, b.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		b.kill() // the control plane stops the task once drained
	}
	close(stop)
	l.wg.Wait()
	if rounds != 50 {
		t.Fatalf("only %d rounds of churn in 30s", rounds)
	}
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed during churn (last: %v)", f, f+l.ok.Load(), l.lastErr.Load())
	}
	if l.ok.Load() < 500 {
		t.Fatalf("only %d requests during churn", l.ok.Load())
	}
}
