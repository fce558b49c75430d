package router

import (
	"net/http"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

func TestNextHealth(t *testing.T) {
	type step struct {
		pass bool
		want int32
	}
	cases := []struct {
		name  string
		start int32
		steps []step
	}{
		{"initial needs two passes", stInitial, []step{{true, stInitial}, {true, stHealthy}}},
		{"a failure resets the pass streak", stInitial, []step{{true, stInitial}, {false, stInitial}, {true, stInitial}, {true, stHealthy}}},
		{"healthy needs three failures", stHealthy, []step{{false, stHealthy}, {false, stHealthy}, {false, stUnhealthy}}},
		{"a pass resets the failure streak", stHealthy, []step{{false, stHealthy}, {false, stHealthy}, {true, stHealthy}, {false, stHealthy}}},
		{"unhealthy comes back after two passes", stUnhealthy, []step{{true, stUnhealthy}, {true, stHealthy}}},
		{"initial that never comes up turns unhealthy", stInitial, []step{{false, stInitial}, {false, stInitial}, {false, stUnhealthy}}},
		{"draining is terminal", stDraining, []step{{true, stDraining}, {true, stDraining}, {false, stDraining}}},
	}
	for _, tc := range cases {
		st, s := tc.start, streak{}
		for i, sp := range tc.steps {
			st, s = nextHealth(st, s, sp.pass, 2, 3)
			if st != sp.want {
				t.Errorf("%s: step %d: state %s, want %s", tc.name, i, stateName(st), stateName(sp.want))
			}
		}
	}
}

func TestParseStatus(t *testing.T) {
	m, err := parseStatus("200-299, 304")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{200: true, 299: true, 300: false, 304: true, 500: false} {
		if m.match(code) != want {
			t.Errorf("match(%d) = %v", code, !want)
		}
	}
	for _, bad := range []string{"", "abc", "300-200", "99", "200-700"} {
		if _, err := parseStatus(bad); err == nil {
			t.Errorf("parseStatus(%q): no error", bad)
		}
	}
}

// TestHealthTransitionsThroughSockets runs real checks against a backend
// whose health endpoint is switched off and on.
func TestHealthTransitionsThroughSockets(t *testing.T) {
	rt, base := startRouter(t, Options{})
	b := newBackend(t, "b1")
	hc := fastHealth
	hc.Interval = 20 * time.Millisecond
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	b.sick.Store(true)
	if err := rt.AddTarget("web", "v1", b.target()); err != nil {
		t.Fatal(err)
	}
	// A target that has not passed its checks takes no traffic.
	if got := health(t, rt, "web", "v1", "b1"); got != api.TargetInitial {
		t.Fatalf("new target is %s, want initial", got)
	}
	if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != http.StatusServiceUnavailable {
		t.Fatalf("request to a service with only initial targets: %d %q, want 503", code, body)
	}
	waitFor(t, "unhealthy after 3 failed checks", 2*time.Second, func() bool { return health(t, rt, "web", "v1", "b1") == api.TargetUnhealthy })
	b.sick.Store(false)
	waitFor(t, "healthy after passing checks", 2*time.Second, func() bool { return health(t, rt, "web", "v1", "b1") == api.TargetHealthy })
	if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "b1" {
		t.Fatalf("healthy target: %d %q", code, body)
	}
	b.sick.Store(true)
	waitFor(t, "unhealthy again", 2*time.Second, func() bool { return health(t, rt, "web", "v1", "b1") == api.TargetUnhealthy })
	st, _ := rt.Service("web")
	if !st.Groups[0].FailOpen || st.Groups[0].Targets[0].LastError == "" {
		t.Fatalf("group with its only target unhealthy: %+v, want fail_open and a last error", st.Groups[0])
	}
}

// TestTCPHealthWithoutPath: without a health path a target is healthy once
// a TCP connect succeeds.
func TestTCPHealthWithoutPath(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	b := newBackend(t, "b1")
	if err := rt.PutService(api.Service{Name: "tcp", Routes: []api.Route{{Host: "tcp.test"}},
		Health: api.HealthCheck{Interval: 10 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddTarget("tcp", "v1", b.target()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "healthy by TCP connect", 2*time.Second, func() bool { return health(t, rt, "tcp", "v1", "b1") == api.TargetHealthy })
	b.kill()
	waitFor(t, "unhealthy once connects fail", 2*time.Second, func() bool { return health(t, rt, "tcp", "v1", "b1") == api.TargetUnhealthy })
}
