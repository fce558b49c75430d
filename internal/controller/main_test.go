package controller

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/router"
	"github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/runtime/process"
	"github.com/ferrycd/ferry/internal/store"
)

// helloOut is examples/hello built once by TestMain, the build output every
// test packs into its own artifact store.
var helloOut string

// TestMain doubles as the process driver's shim: the driver re-executes this
// test binary with "shim …".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		os.Exit(process.ShimMain(os.Args[2:]))
	}
	tmp, err := os.MkdirTemp("", "ferry-controller-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helloOut = filepath.Join(tmp, "out")
	build := exec.Command("go", "build", "-o", filepath.Join(helloOut, "hello"), "github.com/ferrycd/ferry/examples/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building examples/hello:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// env is one test's real parts: a home, a store, a router serving on
// 127.0.0.1:0, the process driver and the hello artifact.
type env struct {
	t        *testing.T
	home     home.Dir
	store    *store.Store
	router   *client.Client
	proxy    string // the router's proxy address
	arts     artifact.Store
	artifact string
	ctl      *Controller
	stopCtl  func()
	tune     func(*Deps) // adjusts the controller start makes; nil: none
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t *testing.T) *env {
	t.Helper()
	// A short directory: unix socket paths are limited to ~100 bytes.
	dir, err := os.MkdirTemp("", "fc")
	if err != nil {
		t.Fatal(err)
	}
	h, err := home.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, home: h, arts: artifact.Store{Home: h}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- router.Run(ctx, router.Config{Listen: "127.0.0.1:0", AdminSocket: h.RouterSocket(),
			ShutdownTimeout: time.Second, Options: router.Options{Logger: quiet}}, func(a string) { ready <- a })
	}()
	select {
	case e.proxy = <-ready:
	case err := <-done:
		t.Fatalf("router: %v", err)
	}
	e.router = client.New(h.RouterSocket())
	e.store, err = store.Open(ctx, h.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.arts.Put(ctx, helloOut)
	if err != nil {
		t.Fatal(err)
	}
	e.artifact = a.Digest
	t.Cleanup(func() {
		if e.stopCtl != nil {
			e.stopCtl()
		}
		// Stop every task this test started, then the router.
		d := &process.Driver{Home: h}
		if running, err := d.List(context.Background()); err == nil {
			for _, st := range running {
				d.Stop(context.Background(), st.Handle, "SIGKILL", time.Second)
			}
		}
		e.store.Close()
		cancel()
		<-done
		artifact.ForceRemove(dir)
		if dir := process.TmpfsHome(h); dir != "" {
			os.RemoveAll(dir)
		}
	})
	return e
}

// driver is a fresh process driver, as a restarted server would make.
func (e *env) driver() *process.Driver { return &process.Driver{Home: e.home} }

// start runs a new controller until the test ends or stopCtl is called.
func (e *env) start() *Controller {
	e.t.Helper()
	c := New(Deps{Store: e.store, Driver: e.driver(), Router: e.router, Artifacts: e.arts, Home: e.home, Logger: quiet,
		Backoff: deploy.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, ResetAfter: time.Minute, CrashLoopAfter: 3}})
	if e.tune != nil {
		e.tune(&c.d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	e.ctl = c
	e.stopCtl = func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("controller Run: %v", err)
		}
		e.stopCtl = nil
	}
	// Run has begun once Notify reaches a loop: wait for its context.
	waitFor(e.t, 5*time.Second, func() (bool, string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.ctx != nil, "controller running"
	})
	return c
}

// web is the hello app's one service, rendered.
func web(count int, routed bool, vars ...string) config.Service {
	envs := map[string]string{}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		envs[k] = v
	}
	// Eight failed checks (800ms) before a task is unhealthy: a task under
	// a loaded test machine may take that long to listen.
	svc := config.Service{
		Name: "web", Command: []string{"./hello"}, Env: envs, Port: config.PortHTTP, Count: count, Runtime: "process",
		Health: config.Health{Path: "/healthz", Interval: 100 * time.Millisecond, Timeout: time.Second,
			HealthyThreshold: 1, UnhealthyThreshold: 8},
		DrainTimeout: 2 * time.Second, StopTimeout: 2 * time.Second,
		Deploy: config.Deploy{Strategy: config.StrategyRolling, CircuitBreaker: true, ProgressDeadline: 30 * time.Second},
	}
	if routed {
		svc.Routes = []config.Route{{Host: "hello.localhost"}}
	}
	return svc
}

// deploy deploys service web of hello and returns its one deployment;
// secrets are the secret values its rendering read.
func (e *env) deploy(svc config.Service, secrets ...string) DeploymentRef {
	e.t.Helper()
	refs, err := e.ctl.Deploy(context.Background(), DeployRequest{App: "hello", Environment: "production",
		Runtime: "process", Services: map[string]config.Service{"web": svc}, Secrets: secrets, Artifact: e.artifact})
	if err != nil {
		e.t.Fatalf("Deploy: %v", err)
	}
	if len(refs) != 1 {
		e.t.Fatalf("Deploy: %d deployments, want 1", len(refs))
	}
	return refs[0]
}

// wait waits for a deployment to end and returns WaitDeployment's answer.
func (e *env) wait(id int64) error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	err := e.ctl.WaitDeployment(ctx, id, nil)
	if ctx.Err() != nil {
		e.t.Fatalf("deployment %d did not end: %v", id, err)
	}
	if err != nil {
		e.logEvents()
	}
	return err
}

func (e *env) status() ServiceStatus {
	e.t.Helper()
	st, err := e.ctl.Status(context.Background(), "hello", "production")
	if err != nil || len(st) != 1 {
		e.t.Fatalf("Status: %v (%d services)", err, len(st))
	}
	return st[0]
}

// get fetches / through the router's proxy.
func (e *env) get() (int, string) {
	req, _ := http.NewRequest("GET", "http://"+e.proxy+"/", nil)
	req.Host = "hello.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// running lists the tasks the driver runs, by id.
func (e *env) running() map[string]int {
	e.t.Helper()
	list, err := e.driver().List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, st := range list {
		out[st.ID]++
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// onRevision reports whether the service has exactly n healthy tasks, all
// of revision rev, and nothing else.
func onRevision(st ServiceStatus, rev, n int) bool {
	if len(st.Tasks) != n {
		return false
	}
	for _, t := range st.Tasks {
		if t.Revision != rev || t.State != string(deploy.TaskHealthy) {
			return false
		}
	}
	return true
}

// logEvents puts the trace in the test log, to explain a failure.
func (e *env) logEvents() {
	evs, _ := e.store.ListEvents(context.Background(), store.EventFilter{})
	for _, ev := range evs {
		e.t.Logf("event %s %s %s", ev.Time.Format("15:04:05.000"), ev.Type, ev.Message)
	}
}
