package router

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

func TestPace(t *testing.T) {
	const interval = time.Second
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type probe struct {
		at      time.Time
		passed  bool
		initial bool // state after the probe
		counts  bool
		wait    time.Duration
	}
	cases := []struct {
		name   string
		probes []probe
	}{
		{"a target up at once is probed at the interval", []probe{
			{at(0), true, true, true, interval},
			{at(1000), true, false, true, interval},
		}},
		{"a new target that fails is retried at a doubling backoff, uncounted", []probe{
			{at(0), false, true, true, 2 * time.Millisecond},
			{at(2), false, true, false, 4 * time.Millisecond},
			{at(6), false, true, false, 8 * time.Millisecond},
			{at(14), false, true, false, 16 * time.Millisecond},
			{at(30), false, true, false, 20 * time.Millisecond},
			{at(50), false, true, false, 20 * time.Millisecond},
		}},
		{"a retry's pass counts and starts a new interval", []probe{
			{at(0), false, true, true, 2 * time.Millisecond},
			{at(2), false, true, false, 4 * time.Millisecond},
			{at(6), true, true, true, interval},
			{at(1006), true, false, true, interval},
		}},
		{"retries stop at the next regular probe, which counts", []probe{
			{at(0), false, true, true, 2 * time.Millisecond},
			{at(2), false, true, false, 4 * time.Millisecond},
			{at(995), false, true, false, 5 * time.Millisecond},
			{at(1000), false, true, true, 16 * time.Millisecond},
		}},
		{"a target that has been healthy is not retried", []probe{
			{at(0), true, false, true, interval},
			{at(1000), false, false, true, interval},
			{at(2000), false, false, true, interval},
		}},
	}
	for _, tc := range cases {
		var p pace
		for i, pr := range tc.probes {
			if got := p.counts(pr.at, pr.passed); got != pr.counts {
				t.Errorf("%s: probe %d: counts %v, want %v", tc.name, i, got, pr.counts)
			}
			var wait time.Duration
			p, wait = p.after(pr.at, pr.passed, pr.initial, interval)
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
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again at %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	waitFor(t, "healthy", 3*time.Second, func() bool { return health(t, rt, "web", "v1", "t1") == api.TargetHealthy })
	if took := time.Since(registered); took >= interval {
		t.Fatalf("healthy %s after registration, want well under the %s interval", took, interval)
	}
}
