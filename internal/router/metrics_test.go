package router

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

func TestLatencyBins(t *testing.T) {
	for _, d := range []time.Duration{time.Microsecond, 3 * time.Microsecond, 700 * time.Microsecond, 12 * time.Millisecond, 300 * time.Millisecond, 9 * time.Second} {
		up := latUpper(latBin(d))
		if up < d || float64(up) > float64(d)*1.26 {
			t.Errorf("%s falls in a bin with upper bound %s", d, up)
		}
	}
}

func TestWindowPercentilesAndReset(t *testing.T) {
	var m metrics
	now := time.Unix(1_000_000, 0)
	// 100 requests 40s ago (outside a 30s window), then 90 fast and 10 slow.
	for i := 0; i < 100; i++ {
		m.record(now.Add(-40*time.Second), 500, time.Second)
	}
	for i := 0; i < 90; i++ {
		m.record(now.Add(-time.Duration(i%20)*time.Second), 200, 10*time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		m.record(now, 503, 200*time.Millisecond)
	}
	w := m.window(now, 30*time.Second)
	if w.Requests != 100 || w.Status["2xx"] != 90 || w.Status["5xx"] != 10 || w.ErrorRate != 0.1 {
		t.Fatalf("30s window: %+v", w)
	}
	near := func(got, want time.Duration) bool { return got >= want && float64(got) <= float64(want)*1.26 }
	if !near(w.P50, 10*time.Millisecond) || !near(w.P90, 10*time.Millisecond) || !near(w.P99, 200*time.Millisecond) {
		t.Fatalf("percentiles p50 %s p90 %s p99 %s", w.P50, w.P90, w.P99)
	}
	if all := m.window(now, time.Minute); all.Requests != 200 {
		t.Fatalf("1m window has %d requests, want 200", all.Requests)
	}
	m.reset()
	if w := m.window(now, time.Minute); w.Requests != 0 || w.P99 != 0 {
		t.Fatalf("after reset: %+v", w)
	}
}

// TestMetricsThroughSockets: per-group figures the deploy engine reads,
// and the Prometheus exposition.
func TestMetricsThroughSockets(t *testing.T) {
	rt, base := startRouter(t, Options{})
	ok, bad := newBackend(t, "ok"), newBackend(t, "bad")
	bad.handle(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth},
		map[string][]*backend{"stable": {ok}, "canary": {bad}})
	if err := rt.SetWeights("web", map[string]int{"stable": 50, "canary": 50}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		get(t, http.DefaultClient, base, "web.test", "/")
	}
	c, err := rt.Metrics("web", "canary", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := rt.Metrics("web", "stable", 30*time.Second)
	svc, _ := rt.Metrics("web", "", 30*time.Second)
	if c.Requests+s.Requests != 200 || svc.Requests != 200 || c.ErrorRate != 1 || s.ErrorRate != 0 || c.Status["5xx"] != c.Requests {
		t.Fatalf("canary %+v stable %+v service %+v", c, s, svc)
	}
	if c.P50 <= 0 || c.P99 < c.P50 {
		t.Fatalf("canary latency p50 %s p99 %s", c.P50, c.P99)
	}
	if err := rt.ResetMetrics("web", "canary"); err != nil {
		t.Fatal(err)
	}
	if c, _ := rt.Metrics("web", "canary", 30*time.Second); c.Requests != 0 {
		t.Fatalf("canary after reset: %+v", c)
	}
	rec := httptest.NewRecorder()
	rt.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`ferry_router_requests_total{service="web",group="canary",code="5xx"} `,
		`ferry_router_request_duration_seconds_count{service="web",group="stable"} `,
		`ferry_router_target_healthy{service="web",group="stable",target="ok"} 1`,
		`ferry_router_fail_open{service="web",group="canary"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, `ferry_router_requests_total{service="web",group="canary",code="5xx"}`) && strings.HasSuffix(l, " 0") {
			t.Errorf("canary 5xx total is 0: %s", l)
		}
	}
}
