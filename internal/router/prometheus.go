package router

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// promBuckets are the upper bounds (seconds) of the exported latency histogram.
var promBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func promBin(d time.Duration) int {
	s := d.Seconds()
	for i, b := range promBuckets {
		if s <= b {
			return i
		}
	}
	return len(promBuckets)
}

// MetricsHandler serves the Prometheus text exposition of every service and
// group: requests by status class, latency histogram, in-flight requests,
// fail-open and target health.
func (rt *Router) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		rt.writeProm(bw)
		bw.Flush()
	})
}

func (rt *Router) writeProm(w *bufio.Writer) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	names := make([]string, 0, len(rt.services))
	for n := range rt.services {
		names = append(names, n)
	}
	sort.Strings(names)
	type series struct {
		labels string
		m      *metrics
		gv     *groupView
	}
	var all []series
	for _, n := range names {
		s := rt.services[n]
		for _, g := range s.groups {
			all = append(all, series{
				labels: `service="` + promEscape(n) + `",group="` + promEscape(g.name) + `"`,
				m:      &g.metrics, gv: &groupView{g: g, targets: g.targets},
			})
		}
	}
	fmt.Fprintln(w, "# HELP ferry_router_requests_total Proxied requests by status class.")
	fmt.Fprintln(w, "# TYPE ferry_router_requests_total counter")
	for _, s := range all {
		for i := range s.m.total {
			fmt.Fprintf(w, "ferry_router_requests_total{%s,code=\"%dxx\"} %d\n", s.labels, i+1, s.m.total[i].Load())
		}
	}
	fmt.Fprintln(w, "# HELP ferry_router_request_duration_seconds Time from request to response end.")
	fmt.Fprintln(w, "# TYPE ferry_router_request_duration_seconds histogram")
	for _, s := range all {
		var cum uint64
		for i := range s.m.promLat {
			cum += s.m.promLat[i].Load()
			le := "+Inf"
			if i < len(promBuckets) {
				le = strconv.FormatFloat(promBuckets[i], 'g', -1, 64)
			}
			fmt.Fprintf(w, "ferry_router_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", s.labels, le, cum)
		}
		fmt.Fprintf(w, "ferry_router_request_duration_seconds_sum{%s} %g\n", s.labels, float64(s.m.latSumNs.Load())/1e9)
		fmt.Fprintf(w, "ferry_router_request_duration_seconds_count{%s} %d\n", s.labels, cum)
	}
	fmt.Fprintln(w, "# HELP ferry_router_in_flight Requests being proxied.")
	fmt.Fprintln(w, "# TYPE ferry_router_in_flight gauge")
	for _, s := range all {
		fmt.Fprintf(w, "ferry_router_in_flight{%s} %d\n", s.labels, s.m.inflight.Load())
	}
	fmt.Fprintln(w, "# HELP ferry_router_fail_open 1 when every target of the group is unhealthy and it fails open.")
	fmt.Fprintln(w, "# TYPE ferry_router_fail_open gauge")
	for _, s := range all {
		v := 0
		if s.gv.failOpen() {
			v = 1
		}
		fmt.Fprintf(w, "ferry_router_fail_open{%s} %d\n", s.labels, v)
	}
	fmt.Fprintln(w, "# HELP ferry_router_target_healthy 1 when the target takes traffic.")
	fmt.Fprintln(w, "# TYPE ferry_router_target_healthy gauge")
	for _, s := range all {
		for _, t := range s.gv.targets {
			v := 0
			if t.state.Load() == stHealthy {
				v = 1
			}
			fmt.Fprintf(w, "ferry_router_target_healthy{%s,target=\"%s\"} %d\n", s.labels, promEscape(t.id), v)
		}
	}
}

func promEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
