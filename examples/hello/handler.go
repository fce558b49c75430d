package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// app serves hello's routes for one config.
type app struct {
	cfg      config
	requests atomic.Int64 // answers to /, numbered from 1, for HELLO_FAIL_PERCENT
}

func newHandler(cfg config) http.Handler {
	a := &app{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.root)
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /slow", a.slow)
	mux.HandleFunc("GET /sse", a.sse)
	return mux
}

// shouldFail reports whether the n-th answer (from 1) fails when pct percent
// must: exactly pct of every 100 consecutive answers, spread evenly, so tests
// can count failures exactly instead of estimating a random rate.
func shouldFail(n int64, pct int) bool {
	return n*int64(pct)/100 > (n-1)*int64(pct)/100
}

type rootAnswer struct {
	App      string `json:"app"`
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Task     string `json:"task"`
}

func (a *app) root(w http.ResponseWriter, r *http.Request) {
	n := a.requests.Add(1)
	if a.cfg.Latency > 0 {
		select {
		case <-time.After(a.cfg.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if shouldFail(n, a.cfg.FailPercent) {
		// The version in the body lets a load test tell this revision's own
		// failures from the platform's.
		http.Error(w, "hello "+a.cfg.Version+": failing on purpose (HELLO_FAIL_PERCENT)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rootAnswer{App: "hello", Version: a.cfg.Version, Revision: a.cfg.Revision, Task: a.cfg.TaskID})
}

func (a *app) healthz(w http.ResponseWriter, _ *http.Request) {
	if a.cfg.Unhealthy {
		http.Error(w, "unhealthy (HELLO_UNHEALTHY=1)", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// slow holds the request for ?d= (default 2s): a request in flight for
// drain tests.
func (a *app) slow(w http.ResponseWriter, r *http.Request) {
	d, err := durationParam(r, "d", 2*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case <-time.After(d):
		fmt.Fprintf(w, "slept %s\n", d)
	case <-r.Context().Done():
	}
}

// sse sends ?n= events (default 3) ?every= apart (default 100ms), each
// flushed as it is written, for tests of streaming through the router.
func (a *app) sse(w http.ResponseWriter, r *http.Request) {
	every, err := durationParam(r, "every", 100*time.Millisecond)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := 3
	if v := r.URL.Query().Get("n"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > 10000 {
			http.Error(w, fmt.Sprintf("n=%q: want an integer from 0 to 10000", v), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	for i := 1; i <= n; i++ {
		if i > 1 {
			select {
			case <-time.After(every):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "id: %d\ndata: {\"n\":%d,\"version\":%q,\"task\":%q}\n\n", i, i, a.cfg.Version, a.cfg.TaskID)
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func durationParam(r *http.Request, name string, def time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Hour {
		return 0, fmt.Errorf("%s=%q: want a duration from 0 to 1h such as 2s", name, v)
	}
	return d, nil
}
