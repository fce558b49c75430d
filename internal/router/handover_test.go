package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

func TestParseHandoverEnv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]int
		err  string
	}{
		{in: "ready=3,state=4,proxy=5,admin=6", want: map[string]int{"ready": 3, "state": 4, "proxy": 5, "admin": 6}},
		{in: "ready=3,state=4,proxy=5,admin=6,metrics=7", want: map[string]int{"ready": 3, "state": 4, "proxy": 5, "admin": 6, "metrics": 7}},
		{in: "ready=3,state=4,proxy=5", err: "no admin fd"},
		{in: "ready=3,state=4,proxy=5,admin=6,ready=8", err: "ready given twice"},
		{in: "ready=3,state=4,proxy=1,admin=6", err: "fd 1 of proxy out of range"},
		{in: "ready=3,state=4,proxy=5,admin=6,shell=9", err: `unknown role "shell"`},
		{in: "ready=3,state=4,proxy=five,admin=6", err: `"proxy=five" is not role=fd`},
		{in: "", err: `"" is not role=fd`},
	} {
		got, err := parseHandoverEnv(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), handoverEnv) {
				t.Errorf("%q: error %v, want one naming %s and saying %q", tc.in, err, handoverEnv, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s=%d, want %d", tc.in, k, got[k], v)
			}
		}
	}
}

// TestHandoverCarriesTableAndHealth: the successor built from a frozen
// router has the same table, and its targets keep the health the old one
// saw (a healthy target serves at once, an unhealthy one does not), while
// the old router refuses changes until thawed.
func TestHandoverCarriesTableAndHealth(t *testing.T) {
	good, bad := newBackend(t, "good"), newBackend(t, "bad")
	bad.sick.Store(true)
	old, _ := startRouter(t, Options{})
	svc := api.Service{Name: "app/prod/web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}
	if err := old.PutService(svc); err != nil {
		t.Fatal(err)
	}
	if _, err := old.SetTargets(svc.Name, "v1", []api.Target{good.target(), bad.target()}); err != nil {
		t.Fatal(err)
	}
	if err := old.SetWeights(svc.Name, map[string]int{"v1": 100}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "good healthy and bad unhealthy", 5*time.Second, func() bool {
		return health(t, old, svc.Name, "v1", "good") == api.TargetHealthy && health(t, old, svc.Name, "v1", "bad") == api.TargetUnhealthy
	})

	h := old.freeze()
	if err := old.SetWeights(svc.Name, map[string]int{"v1": 10}); !errors.Is(err, ErrHandingOver) {
		t.Fatalf("a change to a frozen router: %v, want ErrHandingOver", err)
	}
	// With checks an hour apart, a successor checking afresh would need an
	// hour to see "good" healthy (2 passes): its health comes from h.
	h.State.Services[0].Health.Interval = time.Hour
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(h); err != nil {
		t.Fatal(err)
	}
	succ, err := newFromHandover(Options{Logger: quietLog}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer succ.Close()
	st, err := succ.Service(svc.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Groups) != 1 || st.Groups[0].Weight != 100 || len(st.Groups[0].Targets) != 2 {
		t.Fatalf("successor's table: %+v", st)
	}
	for _, tg := range st.Groups[0].Targets {
		want := map[string]api.TargetHealth{"good": api.TargetHealthy, "bad": api.TargetUnhealthy}[tg.ID]
		if tg.Health != want {
			t.Errorf("successor's %s is %s, want %s as the old router saw it", tg.ID, tg.Health, want)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := succ.NewServer()
	go srv.Serve(ln)
	defer srv.Close()
	for range 5 {
		if code, body, _ := get(t, http.DefaultClient, "http://"+ln.Addr().String(), "web.test", "/"); code != 200 || body != "good" {
			t.Fatalf("successor's first requests: %d %q, want the healthy target", code, body)
		}
	}

	old.thaw()
	if err := old.SetWeights(svc.Name, map[string]int{"v1": 10}); err != nil {
		t.Fatalf("after thaw: %v", err)
	}
}

func TestHandoverRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "{", `{"state":{"version":9}}`, `{"state":{"version":1},"extra":1}`,
		`{"state":{"version":1,"services":[{"name":"","groups":[]}]}}`} {
		if _, err := newFromHandover(Options{Logger: quietLog}, strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "hand") {
			t.Errorf("hand-over %q: %v, want an error", in, err)
		}
	}
}

// TestClientRetriesWhileHandingOver: a change sent while the router hands
// over is refused with 503, retried by the client, and applied once the
// router takes changes again.
func TestClientRetriesWhileHandingOver(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	if err := rt.PutService(api.Service{Name: "app/prod/web", Routes: []api.Route{{Host: "web.test"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.SetTargets("app/prod/web", "v1", nil); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	admin := rt.AdminHandler()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		admin.ServeHTTP(rec, r)
		if rec.code == http.StatusServiceUnavailable {
			refused.Add(1)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	rt.freeze()
	done := make(chan error, 1)
	go func() {
		done <- client.New(sock).SetWeights(context.Background(), "app/prod/web", map[string]int{"v1": 42})
	}()
	waitFor(t, "the change refused twice", 5*time.Second, func() bool { return refused.Load() >= 2 })
	rt.thaw()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not retry after the hand-over")
	}
	if st, _ := rt.Service("app/prod/web"); st.Groups[0].Weight != 42 {
		t.Fatalf("weight %d after the retried change", st.Groups[0].Weight)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}
