package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestRollingBudget(t *testing.T) {
	cases := []struct {
		count          int
		surge, unavail Quantity
		want           Budget
	}{
		{1, "", "", Budget{1, 0}},        // 25% of 1 rounds up to 1
		{10, "", "", Budget{3, 0}},       // 2.5 rounds up
		{4, "25%", "25%", Budget{1, 1}},  // exact
		{10, "0", "25%", Budget{0, 2}},   // unavailable rounds down
		{10, "0", "0", Budget{1, 0}},     // surge at least 1 when nothing may be unavailable
		{3, "0", "5", Budget{0, 3}},      // unavailable capped at count
		{10, "50%", "50%", Budget{5, 5}}, //
		{0, "", "", Budget{1, 0}},
		{7, "200%", "1", Budget{14, 1}},
	}
	for _, c := range cases {
		got, err := RollingBudget(c.count, c.surge, c.unavail)
		if err != nil || got != c.want {
			t.Errorf("RollingBudget(%d, %q, %q) = %+v, %v; want %+v", c.count, c.surge, c.unavail, got, err, c.want)
		}
	}
}

func TestQuantityRejects(t *testing.T) {
	for _, s := range []string{"x", "-1", "10%%", "1.5", "%", " 25% "} {
		if _, err := RollingBudget(4, Quantity(s), ""); err == nil {
			t.Errorf("max_surge %q accepted", s)
		}
		if _, err := RollingBudget(4, "", Quantity(s)); err == nil {
			t.Errorf("max_unavailable %q accepted", s)
		}
	}
	_, err := RollingBudget(3, "lots", "")
	if err == nil || !strings.Contains(err.Error(), `deploy.max_surge: "lots"`) {
		t.Errorf("error %v does not name the field and value", err)
	}
}

func TestBreakerThreshold(t *testing.T) {
	for count, want := range map[int]int{0: 3, 1: 3, 5: 3, 6: 3, 7: 4, 10: 5, 399: 200, 400: 200, 1000: 200} {
		if got := BreakerThreshold(count); got != want {
			t.Errorf("BreakerThreshold(%d) = %d, want %d", count, got, want)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	var b Backoff
	want := []time.Duration{0, 1, 2, 4, 8, 16, 32, 60, 60, 60}
	for n, w := range want {
		if got := b.Delay(n); got != w*time.Second {
			t.Errorf("Delay(%d) = %s, want %s", n, got, w*time.Second)
		}
	}
	if got := (Backoff{Initial: 100 * time.Millisecond, Max: time.Second}).Delay(5); got != time.Second {
		t.Errorf("custom Delay(5) = %s", got)
	}
}

// TestBreakerTripsAtThreshold: one more failure of a new task trips the
// breaker exactly when the count reaches the threshold, not before.
func TestBreakerTripsAtThreshold(t *testing.T) {
	for _, c := range []struct{ count, threshold int }{{1, 3}, {10, 5}, {1000, 200}} {
		for _, before := range []int{c.threshold - 2, c.threshold - 1} {
			s := rollingSnapshot(c.count, 2)
			s.Deployments[0].Status.Failures = before
			s.Tasks = append(s.Tasks, Task{ID: "web-r2-failed", Revision: 2, State: TaskFailed, Exit: &Exit{Code: 2}})
			p := Reconcile(s)
			st := deploymentStatus(t, p)
			wantTrip := before+1 == c.threshold
			if tripped := st.State == DeployRollingBack; tripped != wantTrip {
				t.Errorf("count %d, %d failures + 1: state %s (trip %v, want %v)", c.count, before, st.State, tripped, wantTrip)
			}
			if !wantTrip && st.Failures != before+1 {
				t.Errorf("count %d: failures %d, want %d", c.count, st.Failures, before+1)
			}
		}
	}
}

func TestBreakerOff(t *testing.T) {
	s := rollingSnapshot(1, 2)
	s.Params.DisableCircuitBreaker = true
	s.Deployments[0].Status.Failures = 50
	for _, a := range Reconcile(s).Actions {
		if sd, ok := a.(SetDeployment); ok && sd.Status.State != DeployInProgress {
			t.Fatalf("breaker off, yet %+v", sd.Status)
		}
	}
}

// rollingSnapshot is a deployment r1 → r2 in flight with count healthy r1
// tasks, one r2 task starting.
func rollingSnapshot(count, to int) ServiceState {
	s := ServiceState{Service: "web", Now: t0, Count: count, Live: 1,
		Deployments: []Deployment{{ID: "d1", To: to, Status: Status{State: DeployInProgress, From: 1, Target: to,
			StartedAt: t0.Add(-time.Minute), ProgressAt: t0.Add(-time.Second), FewestOld: count}}}}
	for i := range count {
		s.Tasks = append(s.Tasks, Task{ID: "web-r1-" + itoa(i+1), Revision: 1, State: TaskHealthy,
			StartedAt: t0.Add(-time.Hour), HealthySince: t0.Add(-time.Hour)})
	}
	s.Status.Seq = count + 1
	s.Tasks = append(s.Tasks, Task{ID: "web-r2-" + itoa(count+1), Revision: to, State: TaskStarting, StartedAt: t0})
	return s
}

func deploymentStatus(t *testing.T, p Plan) Status {
	t.Helper()
	for _, a := range p.Actions {
		if sd, ok := a.(SetDeployment); ok {
			return sd.Status
		}
	}
	t.Fatalf("plan records no deployment status: %#v", p.Actions)
	return Status{}
}
