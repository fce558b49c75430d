package router

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// quietLog discards the router's logs in tests.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// fastHealth checks every 10ms so that transitions happen quickly.
var fastHealth = api.HealthCheck{Path: "/healthz", Interval: 10 * time.Millisecond, Timeout: time.Second}

// startRouter serves a new router on 127.0.0.1:0 and returns it with its base URL.
func startRouter(t *testing.T, opts Options) (*Router, string) {
	t.Helper()
	rt, _, base := startServer(t, opts)
	return rt, base
}

// startServer is startRouter that also returns the Server.
func startServer(t *testing.T, opts Options) (*Router, *Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	rt, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := rt.NewServer()
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
	})
	return rt, srv, "http://" + ln.Addr().String()
}

// backend is a small target on 127.0.0.1:0 answering its name; its health
// endpoint can be switched off.
type backend struct {
	*httptest.Server
	name    string
	hits    atomic.Int64
	sick    atomic.Bool
	handler atomic.Pointer[http.HandlerFunc]
	hHook   atomic.Pointer[func()] // runs before each health answer
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if h := b.hHook.Load(); h != nil {
				(*h)()
			}
			if b.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.hits.Add(1)
		if h := b.handler.Load(); h != nil {
			(*h)(w, r)
			return
		}
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

func (b *backend) target() api.Target { return api.Target{ID: b.name, Addr: b.addr()} }

func (b *backend) handle(h http.HandlerFunc) { b.handler.Store(&h) }

// healthHook runs h before each answer to a health check.
func (b *backend) healthHook(h func()) { b.hHook.Store(&h) }

// kill closes the listener and every connection, as a dying task would.
func (b *backend) kill() {
	b.Listener.Close()
	b.CloseClientConnections()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// health returns a target's state as the router reports it.
func health(t *testing.T, rt *Router, svc, grp, id string) api.TargetHealth {
	t.Helper()
	return targetStatus(t, rt, svc, grp, id).Health
}

// targetStatus returns a target as the router reports it; the zero value
// when it has no such target.
func targetStatus(t *testing.T, rt *Router, svc, grp, id string) api.TargetStatus {
	t.Helper()
	st, err := rt.Service(svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Groups {
		if g.Name != grp {
			continue
		}
		for _, tg := range g.Targets {
			if tg.ID == id {
				return tg
			}
		}
	}
	return api.TargetStatus{}
}

// waitHealthy waits until every target of the service is healthy.
func waitHealthy(t *testing.T, rt *Router, svc string) {
	t.Helper()
	waitFor(t, "targets of "+svc+" healthy", 5*time.Second, func() bool {
		st, err := rt.Service(svc)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range st.Groups {
			for _, tg := range g.Targets {
				if tg.Health != api.TargetHealthy {
					return false
				}
			}
		}
		return true
	})
}

// get sends a GET with a Host header and returns status and body.
func get(t *testing.T, c *http.Client, base, host, path string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// mustPut puts a service and sets one group's targets, waiting until healthy.
func mustSetup(t *testing.T, rt *Router, s api.Service, groups map[string][]*backend) {
	t.Helper()
	if err := rt.PutService(s); err != nil {
		t.Fatal(err)
	}
	for g, bs := range groups {
		var ts []api.Target
		for _, b := range bs {
			ts = append(ts, b.target())
		}
		if _, err := rt.SetTargets(s.Name, g, ts); err != nil {
			t.Fatal(err)
		}
	}
	waitHealthy(t, rt, s.Name)
}
