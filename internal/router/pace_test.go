package router

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

func TestPace(t *testing.T) {
	const interval = time.Second
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	type probe struct {
		at       time.Time     // when it ended
		took     time.Duration // how long it took (0: none)
		passed   bool
		refused  bool // failed because nothing listened
		initial  bool // state after the probe
		forgiven bool
		counts   bool
		wait     time.Duration
	}
	cases := []struct {
		name        string
		startPeriod time.Duration // 0: one interval
		probes      []probe
	}{
		{"a target up at once is probed at the interval", 0, []probe{
			{at: at(0), passed: true, initial: true, counts: true, wait: interval},
			{at: at(1000), passed: true, counts: true, wait: interval},
		}},
		{"the interval runs from a probe's start, not its end", 0, []probe{
			{at: at(3), took: ms(3), passed: true, initial: true, counts: true, wait: ms(997)},
			{at: at(1004), took: ms(4), passed: true, counts: true, wait: ms(996)},
			{at: at(2000), counts: true, wait: interval},
		}},
		{"a probe longer than the interval is followed at once", 0, []probe{
			{at: at(0), passed: true, counts: true, wait: interval},
			{at: at(2500), took: ms(1500), counts: true, wait: 0},
		}},
		{"a new target that fails is retried at a doubling backoff, uncounted", 0, []probe{
			{at: at(0), initial: true, counts: true, wait: ms(2)},
			{at: at(2), initial: true, wait: ms(4)},
			{at: at(6), initial: true, wait: ms(8)},
			{at: at(14), initial: true, wait: ms(16)},
			{at: at(30), initial: true, wait: ms(20)},
			{at: at(50), initial: true, wait: ms(20)},
		}},
		{"a retry's pass counts and starts a new interval", 0, []probe{
			{at: at(0), initial: true, counts: true, wait: ms(2)},
			{at: at(2), initial: true, wait: ms(4)},
			{at: at(6), passed: true, initial: true, counts: true, wait: interval},
			{at: at(1006), passed: true, counts: true, wait: interval},
		}},
		{"retries stop at the next regular probe, which counts", 0, []probe{
			{at: at(0), initial: true, counts: true, wait: ms(2)},
			{at: at(2), initial: true, wait: ms(4)},
			{at: at(995), initial: true, wait: ms(5)},
			{at: at(1000), initial: true, counts: true, wait: ms(16)},
		}},
		{"a target that has been healthy is not retried", 0, []probe{
			{at: at(0), passed: true, counts: true, wait: interval},
			{at: at(1000), counts: true, wait: interval},
			{at: at(2000), counts: true, wait: interval},
		}},
		{"a starting target that refuses is retried at once, not even the first probe counted", 0, []probe{
			{at: at(0), refused: true, initial: true, forgiven: true, wait: ms(2)},
			{at: at(2), refused: true, initial: true, forgiven: true, wait: ms(2)},
			{at: at(30), refused: true, initial: true, forgiven: true, wait: ms(3)},
			{at: at(33), passed: true, initial: true, counts: true, wait: interval},
			{at: at(1033), passed: true, counts: true, wait: interval},
		}},
		{"a long start period backs off to a tenth of the wait, at most an interval", time.Minute, []probe{
			{at: at(0), refused: true, initial: true, forgiven: true, wait: ms(2)},
			{at: at(500), refused: true, initial: true, forgiven: true, wait: ms(50)},
			{at: at(5000), refused: true, initial: true, forgiven: true, wait: ms(500)},
			{at: at(20000), refused: true, initial: true, forgiven: true, wait: interval},
			{at: at(60000), refused: true, initial: true, counts: true, wait: ms(20)},
		}},
		{"a refusal counts once the start period is over", 0, []probe{
			{at: at(0), refused: true, initial: true, forgiven: true, wait: ms(2)},
			{at: at(999), refused: true, initial: true, forgiven: true, wait: 99900 * time.Microsecond},
			{at: at(1000), refused: true, initial: true, counts: true, wait: ms(20)},
			{at: at(1020), refused: true, initial: true, wait: ms(20)},
		}},
		{"a refusal counts once a probe passed", 0, []probe{
			{at: at(0), passed: true, initial: true, counts: true, wait: interval},
			{at: at(1000), refused: true, initial: true, counts: true, wait: ms(2)},
		}},
		{"another failure counts during the start period", 0, []probe{
			{at: at(0), initial: true, counts: true, wait: ms(2)},
			{at: at(2), refused: true, initial: true, forgiven: true, wait: ms(2)},
		}},
	}
	for _, tc := range cases {
		var p pace
		for i, pr := range tc.probes {
			forgiven := pr.refused && p.starting(pr.at, max(tc.startPeriod, interval))
			if forgiven != pr.forgiven {
				t.Errorf("%s: probe %d: forgiven %v, want %v", tc.name, i, forgiven, pr.forgiven)
			}
			if got := !forgiven && p.counts(pr.at, pr.passed); got != pr.counts {
				t.Errorf("%s: probe %d: counts %v, want %v", tc.name, i, got, pr.counts)
			}
			var wait time.Duration
			p, wait = p.after(pr.at.Add(-pr.took), pr.at, pr.passed, forgiven, pr.initial, interval)
			if wait != pr.wait {
				t.Errorf("%s: probe %d: next in %s, want %s", tc.name, i, wait, pr.wait)
			}
		}
	}
}

// TestNewTargetHealthyOnceItListens registers a target whose "task" is not
// up yet: the retries while it refuses count as nothing, and it turns
// healthy as soon as it answers, not an interval later.
func TestNewTargetHealthyOnceItListens(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	// Not up yet: a listener that hangs up on every connection, counting them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var probes atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			probes.Add(1)
			c.Close()
		}
	}()
	const interval = 5 * time.Second
	hc := api.HealthCheck{Path: "/healthz", Interval: interval, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 2}
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	registered := time.Now()
	if err := rt.AddTarget("web", "v1", api.Target{ID: "t1", Addr: addr}); err != nil {
		t.Fatal(err)
	}
	// One regular probe and its retries: counted, two failures would make
	// the target unhealthy.
	waitFor(t, "a failed probe and three retries", 3*time.Second, func() bool { return probes.Load() >= 4 })
	if got := health(t, rt, "web", "v1", "t1"); got != api.TargetInitial {
		t.Fatalf("after %d failed probes within one interval: %s, want initial", probes.Load(), got)
	}
	ln.Close()
	answerAt(t, addr)
	waitHealthyWithin(t, rt, registered, interval)
}

// answerAt serves 200s at addr until the test ends.
func answerAt(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening at %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// waitHealthyWithin waits for target t1 of web/v1 to turn healthy, and
// fails if that took an interval or more after its registration.
func waitHealthyWithin(t *testing.T, rt *Router, registered time.Time, interval time.Duration) {
	t.Helper()
	waitFor(t, "healthy", 3*time.Second, func() bool { return health(t, rt, "web", "v1", "t1") == api.TargetHealthy })
	if took := time.Since(registered); took >= interval {
		t.Fatalf("healthy %s after registration, want well under the %s interval", took, interval)
	}
}

// closedAddr is a loopback address nothing listens on (until the test
// listens there itself).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestStartingTargetRefusingIsNotFailed registers a target before anything
// listens at its address, as the controller does while a task launches:
// with unhealthy_threshold 1, a counted refusal would make it unhealthy at
// once. It stays initial, and turns healthy as soon as it listens.
func TestStartingTargetRefusingIsNotFailed(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	addr := closedAddr(t)
	const interval = 5 * time.Second
	hc := api.HealthCheck{Path: "/healthz", Interval: interval, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	registered := time.Now()
	if err := rt.AddTarget("web", "v1", api.Target{ID: "t1", Addr: addr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a refused probe", 3*time.Second, func() bool {
		return strings.Contains(targetStatus(t, rt, "web", "v1", "t1").LastError, "refused")
	})
	if got := health(t, rt, "web", "v1", "t1"); got != api.TargetInitial {
		t.Fatalf("after a refused probe in the start period: %s, want initial", got)
	}
	answerAt(t, addr)
	waitHealthyWithin(t, rt, registered, interval)
}

// TestStartPeriodEndsForATargetThatNeverListens: a refusal counts once the
// start period is over, so a task that never listens (say, on the wrong
// port) is still found unhealthy.
func TestStartPeriodEndsForATargetThatNeverListens(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	const startPeriod = 300 * time.Millisecond
	hc := api.HealthCheck{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: time.Second,
		HealthyThreshold: 1, UnhealthyThreshold: 1, StartPeriod: startPeriod}
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	registered := time.Now()
	if err := rt.AddTarget("web", "v1", api.Target{ID: "t1", Addr: closedAddr(t)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unhealthy", 5*time.Second, func() bool { return health(t, rt, "web", "v1", "t1") == api.TargetUnhealthy })
	if took := time.Since(registered); took < startPeriod {
		t.Fatalf("unhealthy %s after registration, within its %s start period", took, startPeriod)
	}
	if e := targetStatus(t, rt, "web", "v1", "t1").LastError; !strings.Contains(e, "refused") {
		t.Fatalf("last error %q, want the refusal", e)
	}
}

// TestProbesAreAnIntervalApartFromTheirStart: a target whose checks take a
// good part of the interval is probed an interval after the previous probe
// was sent, not an interval after its answer came.
func TestProbesAreAnIntervalApartFromTheirStart(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	b := newBackend(t, "t1")
	const interval, slow = 400 * time.Millisecond, 300 * time.Millisecond
	arrivals := make(chan time.Time, 8)
	b.healthHook(func() {
		select {
		case arrivals <- time.Now():
		default:
		}
		time.Sleep(slow) // the check's own time
	})
	hc := api.HealthCheck{Path: "/healthz", Interval: interval, Timeout: time.Second, HealthyThreshold: 3, UnhealthyThreshold: 2}
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddTarget("web", "v1", b.target()); err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for len(at) < 3 {
		select {
		case a := <-arrivals:
			at = append(at, a)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d probes within 5s, want 3", len(at))
		}
	}
	for i := 1; i < len(at); i++ {
		// An interval plus the check's time would be 700ms; the margin
		// between 400 and 700 absorbs a loaded machine's delays.
		if gap := at[i].Sub(at[i-1]); gap < interval-10*time.Millisecond || gap >= interval+slow/2 {
			t.Errorf("probe %d came %s after the one before, want the %s interval from its start", i, gap, interval)
		}
	}
	waitFor(t, "healthy", 5*time.Second, func() bool { return health(t, rt, "web", "v1", "t1") == api.TargetHealthy })
}
