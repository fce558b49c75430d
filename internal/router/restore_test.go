package router

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// writeState writes a state file for svc with one group "v1" (weight 100)
// of targets in the given recorded health.
func writeState(t *testing.T, svc api.Service, targets map[*backend]api.TargetHealth) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "router.state.json")
	g := stateGroup{Name: "v1", Weight: 100}
	for b, h := range targets {
		g.Targets = append(g.Targets, stateTarget{Target: b.target(), Health: h})
	}
	if err := saveState(path, state{Version: stateVersion, Services: []stateService{{Service: svc, Groups: []stateGroup{g}}}}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRestoredHealthyNeedsOnePass: a target saved healthy is probed at once
// and re-admitted by its first passing check, though the service asks five
// passes an hour apart; one saved initial or unhealthy still needs five.
func TestRestoredHealthyNeedsOnePass(t *testing.T) {
	was, wasNot, sick := newBackend(t, "was"), newBackend(t, "wasnot"), newBackend(t, "sick")
	svc := api.Service{Name: "a/p/web", Routes: []api.Route{{Host: "web.test"}},
		Health: api.HealthCheck{Path: "/healthz", Interval: time.Hour, HealthyThreshold: 5, Timeout: time.Second}}
	path := writeState(t, svc, map[*backend]api.TargetHealth{was: api.TargetHealthy, wasNot: api.TargetInitial, sick: api.TargetUnhealthy})
	rt, base := startRouter(t, Options{StatePath: path})
	waitFor(t, "the restored healthy target re-admitted", 2*time.Second, func() bool {
		return health(t, rt, svc.Name, "v1", "was") == api.TargetHealthy
	})
	for range 10 {
		if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "was" {
			t.Fatalf("got %d %q, want only the re-admitted target", code, body)
		}
	}
	for _, id := range []string{"wasnot", "sick"} {
		if h := health(t, rt, svc.Name, "v1", id); h != api.TargetInitial {
			t.Fatalf("target %s restored as not healthy is %s after one check, want initial", id, h)
		}
	}
}

// TestRestoredHealthyFailingStaysOut: a target saved healthy whose first
// check fails is not re-admitted, and its requests get 503 once that check
// has answered.
func TestRestoredHealthyFailingStaysOut(t *testing.T) {
	b := newBackend(t, "b")
	b.sick.Store(true)
	svc := api.Service{Name: "a/p/web", Routes: []api.Route{{Host: "web.test"}},
		Health: api.HealthCheck{Path: "/healthz", Interval: time.Hour, Timeout: time.Second}}
	rt, base := startRouter(t, Options{StatePath: writeState(t, svc, map[*backend]api.TargetHealth{b: api.TargetHealthy})})
	if code, _, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != http.StatusServiceUnavailable {
		t.Fatalf("target failing its first check took traffic: %d", code)
	}
	if h := health(t, rt, svc.Name, "v1", "b"); h != api.TargetInitial {
		t.Fatalf("target is %s, want initial", h)
	}
	if b.hits.Load() != 0 {
		t.Fatal("a request reached the target that failed its check")
	}
}

// TestRestartHoldsRequestsForFirstCheck: right after a restart, requests
// to a service whose only target awaits its re-confirming check wait for
// that check instead of getting 503, on the fast path (GET) and on
// net/http's (POST); when the check hangs the wait ends with the grace.
func TestRestartHoldsRequestsForFirstCheck(t *testing.T) {
	slow := 300 * time.Millisecond
	t.Run("check passes", func(t *testing.T) {
		b := newBackend(t, "b")
		release := make(chan struct{})
		b.healthHook(func() { <-release })
		svc := api.Service{Name: "a/p/web", Routes: []api.Route{{Host: "web.test"}},
			Health: api.HealthCheck{Path: "/healthz", Interval: time.Hour, Timeout: 5 * time.Second}}
		_, base := startRouter(t, Options{StatePath: writeState(t, svc, map[*backend]api.TargetHealth{b: api.TargetHealthy})})
		type res struct {
			code int
			body string
		}
		got := make(chan res, 2)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			go func() {
				req, _ := http.NewRequest(method, base+"/", nil)
				req.Host = "web.test"
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got <- res{body: err.Error()}
					return
				}
				resp.Body.Close()
				got <- res{code: resp.StatusCode}
			}()
		}
		select {
		case r := <-got:
			t.Fatalf("a request was answered (%d %s) before the target's first check completed", r.code, r.body)
		case <-time.After(slow):
		}
		close(release)
		for range 2 {
			if r := <-got; r.code != 200 {
				t.Fatalf("held request: %d %s, want 200", r.code, r.body)
			}
		}
	})
	t.Run("check hangs", func(t *testing.T) {
		b := newBackend(t, "b")
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		b.healthHook(func() { <-release })
		svc := api.Service{Name: "a/p/web", Routes: []api.Route{{Host: "web.test"}},
			Health: api.HealthCheck{Path: "/healthz", Interval: time.Hour, Timeout: slow}}
		_, base := startRouter(t, Options{StatePath: writeState(t, svc, map[*backend]api.TargetHealth{b: api.TargetHealthy})})
		start := time.Now()
		code, _, _ := get(t, http.DefaultClient, base, "web.test", "/")
		if d := time.Since(start); code != http.StatusServiceUnavailable || d > slow+time.Second {
			t.Fatalf("with a hanging check: %d after %s, want 503 within the %s grace", code, d, slow)
		}
	})
}
