package router

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// load sends GETs from workers until stop is closed or max requests were
// made, and counts failures (transport errors or non-200).
type load struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value
	wg         sync.WaitGroup
}

func startLoad(t *testing.T, base, host string, workers int, max int64, stop <-chan struct{}) *load {
	t.Helper()
	l := &load{}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	var sent atomic.Int64
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for sent.Add(1) <= max {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
				req.Host = host
				resp, err := c.Do(req)
				if err != nil {
					l.failed.Add(1)
					l.lastErr.Store(err.Error())
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					l.failed.Add(1)
					l.lastErr.Store(resp.Status)
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return l
}

// TestKillTargetUnderLoad: a target dies while requests flow; every request
// still succeeds (connect failures are retried on another target) and the
// dead target is ejected passively.
func TestKillTargetUnderLoad(t *testing.T) {
	rt, base := startRouter(t, Options{})
	b1, b2 := newBackend(t, "b1"), newBackend(t, "b2")
	hc := fastHealth
	hc.Interval = time.Hour // only passive health may eject b1 here
	hc.HealthyThreshold = 1 // the first check, at once, puts targets in rotation
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.SetTargets("web", "v1", []api.Target{b1.target(), b2.target()}); err != nil {
		t.Fatal(err)
	}
	// The first check runs at once; then no more for an hour.
	waitHealthy(t, rt, "web")
	stop := make(chan struct{})
	l := startLoad(t, base, "web.test", 8, 4000, stop)
	waitFor(t, "load under way", 5*time.Second, func() bool { return l.ok.Load() > 200 })
	b1.kill()
	waitFor(t, "b1 ejected passively", 5*time.Second, func() bool { return health(t, rt, "web", "v1", "b1") == api.TargetUnhealthy })
	n := l.ok.Load()
	waitFor(t, "load after the ejection", 5*time.Second, func() bool { return l.ok.Load() > n+200 })
	close(stop)
	l.wg.Wait()
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed while a target died (last: %v)", f, f+l.ok.Load(), l.lastErr.Load())
	}
}

// TestFailOpen: when every target of the group is unhealthy, traffic still
// goes to them and the metrics say so.
func TestFailOpen(t *testing.T) {
	rt, base := startRouter(t, Options{})
	b := newBackend(t, "b1")
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	b.sick.Store(true) // health fails, but the app still answers
	waitFor(t, "unhealthy", 2*time.Second, func() bool { return health(t, rt, "web", "v1", "b1") == api.TargetUnhealthy })
	if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "b1" {
		t.Fatalf("fail-open request: %d %q", code, body)
	}
	m, err := rt.Metrics("web", "v1", time.Minute)
	if err != nil || !m.FailOpen {
		t.Fatalf("metrics %+v, %v: want fail_open", m, err)
	}
}

// TestDraining: removing a target lets its long request finish, sends new
// requests elsewhere, and returns only when the request is done; removing
// an idle target returns at once; a drain timeout cuts what is left.
func TestDraining(t *testing.T) {
	rt, base := startRouter(t, Options{})
	slow, other := newBackend(t, "slow"), newBackend(t, "other")
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	slow.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long" {
			started <- struct{}{}
			<-release
		}
		w.Write([]byte("slow"))
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth, DrainTimeout: 10 * time.Second},
		map[string][]*backend{"v1": {slow}})
	type result struct {
		code int
		body string
	}
	long := make(chan result, 1)
	go func() {
		code, body, _ := get(t, http.DefaultClient, base, "web.test", "/long")
		long <- result{code, body}
	}()
	<-started
	if _, err := rt.SetTargets("web", "v1", []api.Target{slow.target(), other.target()}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, rt, "web")
	drained := make(chan api.DrainResult, 1)
	go func() {
		res, err := rt.RemoveTarget("web", "v1", "slow")
		if err != nil {
			t.Error(err)
		}
		drained <- res
	}()
	waitFor(t, "slow draining", 2*time.Second, func() bool { return health(t, rt, "web", "v1", "slow") != api.TargetHealthy })
	for i := 0; i < 20; i++ {
		if _, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); body != "other" {
			t.Fatalf("new request went to %q while slow drains", body)
		}
	}
	select {
	case res := <-drained:
		t.Fatalf("drain returned %+v while a request was in flight", res)
	default:
	}
	close(release)
	res := <-drained
	if r := <-long; r.code != 200 || r.body != "slow" {
		t.Fatalf("the long request ended %d %q", r.code, r.body)
	}
	if res.Drained != 1 || res.Cut != 0 {
		t.Fatalf("drain result %+v, want 1 drained, 0 cut", res)
	}
	// Nothing in flight: the drain returns at once.
	start := time.Now()
	res, err := rt.RemoveTarget("web", "v1", "other")
	if err != nil || res.Drained != 0 || time.Since(start) > time.Second {
		t.Fatalf("idle drain: %+v %v after %s", res, err, time.Since(start))
	}
}

func TestDrainTimeoutCuts(t *testing.T) {
	rt, base := startRouter(t, Options{})
	b := newBackend(t, "stuck")
	started := make(chan struct{}, 1)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth, DrainTimeout: 100 * time.Millisecond},
		map[string][]*backend{"v1": {b}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		req.Host = "web.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-started
	res, err := rt.RemoveGroup("web", "v1")
	if err != nil || res.Cut != 1 || res.Duration < 100*time.Millisecond || res.Duration > 5*time.Second {
		t.Fatalf("drain past its timeout: %+v %v, want 1 cut after ~100ms", res, err)
	}
	if code := <-done; code == 200 {
		t.Fatalf("cut request answered 200")
	}
}
