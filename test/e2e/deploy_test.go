package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/examples"
	"github.com/ferrycd/ferry/test/chaos/rig"
)

// helloApp is a copy of examples/hello with a ferry.yaml the test writes.
type helloApp struct {
	Dir  string
	File string
}

// newHelloApp writes the hello example into home/app, a git repository as
// builds need.
func newHelloApp(t *testing.T, home string) helloApp {
	t.Helper()
	dir := filepath.Join(home, "app")
	if err := examples.Extract("hello", dir); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	return helloApp{Dir: dir, File: filepath.Join(dir, "ferry.yaml")}
}

// helloSpec is what a test varies in hello's ferry.yaml.
type helloSpec struct {
	Count  int
	Env    map[string]string
	Health string // the health: mapping; "" is {path: /healthz}
}

func (a helloApp) write(t *testing.T, s helloSpec) {
	t.Helper()
	health := s.Health
	if health == "" {
		health = "{path: /healthz}"
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env strings.Builder
	if len(keys) > 0 {
		env.WriteString("    env:\n")
	}
	for _, k := range keys {
		fmt.Fprintf(&env, "      %s: %q\n", k, s.Env[k])
	}
	text := fmt.Sprintf(`app: hello
build:
  steps:
    - name: app
      inputs: ["*.go"]
      run: CGO_ENABLED=0 go build -o out/hello .
  output: out/
services:
  web:
    command: [./hello]
    port: http
    count: %d
    health: %s
    routes: [{host: hello.localhost}]
%s`, s.Count, health, env.String())
	if err := os.WriteFile(a.File, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// upHello starts router and server in home and deploys the app as written.
func upHello(t *testing.T, home string, app helloApp) (addr string) {
	t.Helper()
	addr = freeAddr(t)
	t.Cleanup(func() {
		if r := ferry(t, home, home, nil, "down", "--all"); r.Code != 0 {
			t.Errorf("down --all: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		// Nothing of this home may outlive the test.
		if procs := taskProcs(t, home); len(procs) > 0 {
			t.Errorf("task processes left after down --all: %v", procs)
		}
	})
	mustFerry(t, app.Dir, home, nil, "up", "--listen", addr)
	return addr
}

// taskProc is a live task process of a home, as /proc shows it.
type taskProc = rig.TaskProc

// taskProcs finds the task processes of home from /proc (rig.TaskProcs):
// the ground truth ferry's own status is checked against.
func taskProcs(t *testing.T, home string) []taskProc {
	t.Helper()
	if _, err := filepath.EvalSymlinks(home); err != nil {
		t.Fatal(err)
	}
	return rig.TaskProcs(home)
}

// shimTasks maps each live shim of home to its task id, counting
// duplicates (rig.ShimTasks).
func shimTasks(t *testing.T, home string) map[string]int {
	t.Helper()
	return rig.ShimTasks(home)
}

// expectTasks polls until exactly count task processes run in home, one
// per task id and each under one shim, all of revision rev, and they are
// the tasks status reports healthy: no orphan, no duplicate, nothing of
// another revision.
func expectTasks(t *testing.T, dir, home string, count, rev int) []taskProc {
	t.Helper()
	var procs []taskProc
	eventually(t, 30*time.Second, fmt.Sprintf("exactly %d task processes of r%d", count, rev), func() (bool, string) {
		procs = taskProcs(t, home)
		byTask := map[string]int{}
		for _, p := range procs {
			byTask[p.Task]++
			if p.Revision != rev {
				return false, fmt.Sprintf("process %d is task %s of r%d", p.PID, p.Task, p.Revision)
			}
		}
		for id, n := range byTask {
			if n > 1 {
				return false, fmt.Sprintf("%d processes of task %s", n, id)
			}
		}
		if len(procs) != count {
			return false, fmt.Sprintf("%d task processes: %v", len(procs), procs)
		}
		shims := shimTasks(t, home)
		if len(shims) != count {
			return false, fmt.Sprintf("%d shims: %v", len(shims), shims)
		}
		for id, n := range shims {
			if n != 1 || byTask[id] != 1 {
				return false, fmt.Sprintf("%d shims of task %s, %d processes", n, id, byTask[id])
			}
		}
		s := status(t, dir, home).Services[0]
		if s.LiveRevision != rev || s.Healthy != count || len(s.Tasks) != count {
			return false, fmt.Sprintf("status: live r%d, %d healthy of %d tasks", s.LiveRevision, s.Healthy, len(s.Tasks))
		}
		for _, task := range s.Tasks {
			if byTask[task.ID] != 1 {
				return false, fmt.Sprintf("status task %s has no process (processes %v)", task.ID, procs)
			}
		}
		return true, ""
	})
	return procs
}

// background is a ferry command running while the test does other things.
type background struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string // stdout lines so far
	errb bytes.Buffer
	done chan struct{}
	code int
}

// startFerry runs ferry in the background; the test's cleanup kills it if
// it still runs.
func startFerry(t *testing.T, dir, home string, args ...string) *background {
	t.Helper()
	noteTmpfsState(home)
	cmd := exec.Command(ferryBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FERRY_HOME="+home)
	b := &background{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &b.errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.mu.Lock()
			b.out = append(b.out, sc.Text())
			b.mu.Unlock()
		}
		err := cmd.Wait()
		b.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			b.code = ee.ExitCode()
		}
		close(b.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-b.done
	})
	return b
}

func (b *background) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.out)
}

// wait returns the exit code, failing the test if it runs past within.
func (b *background) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
		return b.code
	case <-time.After(within):
		t.Fatalf("ferry %s still running after %s\nstdout:\n%s", strings.Join(b.cmd.Args[1:], " "), within, strings.Join(b.lines(), "\n"))
		return 0
	}
}

func (b *background) stderr() string {
	<-b.done
	return b.errb.String()
}

// traceEvent is one line of `ferry events -o json`.
type traceEvent struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Deployment int64     `json:"deployment"`
	Task       string    `json:"task"`
	Type       string    `json:"type"`
	Message    string    `json:"message"`
}

func parseEvents(t *testing.T, lines []string) []traceEvent {
	t.Helper()
	var evs []traceEvent
	for _, l := range lines {
		var e traceEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("events line %q: %v", l, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func eventTypes(evs []traceEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// deploymentOf polls status until the service's latest deployment is a
// different one than before, and returns its id.
func deploymentOf(t *testing.T, dir, home string, before int64) int64 {
	t.Helper()
	var id int64
	eventually(t, 30*time.Second, "a new deployment in status", func() (bool, string) {
		raw := mustFerry(t, dir, home, nil, "status", "-o", "json").Stdout
		var st struct {
			Services []struct {
				Deployment *struct {
					ID int64 `json:"deployment"`
				} `json:"deployment"`
			} `json:"services"`
		}
		if err := json.Unmarshal([]byte(raw), &st); err != nil || len(st.Services) != 1 {
			return false, raw
		}
		if d := st.Services[0].Deployment; d != nil && d.ID != before {
			id = d.ID
			return true, ""
		}
		return false, "no new deployment yet"
	})
	return id
}

// TestRollingDeployUnderLoad is issue 4's main acceptance path: v1 → v2
// under constant load with the deployment's trace read live, a v3 that
// fails its health check rolled back, and a task killed with SIGKILL
// replaced, each with no failed request through the router.
func TestRollingDeployUnderLoad(t *testing.T) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	app.write(t, helloSpec{Count: 3, Env: map[string]string{"HELLO_VERSION": "v1"}})
	addr := upHello(t, home, app)
	answersVersion(t, addr, "v1")
	v1 := expectTasks(t, app.Dir, home, 3, 1)

	t.Run("v1 to v2", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		app.write(t, helloSpec{Count: 3, Env: map[string]string{"HELLO_VERSION": "v2"}})
		deploy := startFerry(t, app.Dir, home, "deploy")
		d := deploymentOf(t, app.Dir, home, 1)
		events := startFerry(t, app.Dir, home, "events", "-f", "--deployment", strconv.FormatInt(d, 10), "-o", "json")
		if code := deploy.wait(t, time.Minute); code != 0 {
			t.Fatalf("deploy v2: exit %d\n%s\n%s", code, strings.Join(deploy.lines(), "\n"), deploy.stderr())
		}
		if out := strings.Join(deploy.lines(), "\n"); !strings.Contains(out, "r1 → r2 succeeded") {
			t.Errorf("deploy v2 output:\n%s", out)
		}
		eventually(t, 10*time.Second, "deployment.succeeded on the live event stream", func() (bool, string) {
			lines := events.lines()
			return len(lines) > 0 && strings.Contains(lines[len(lines)-1], `"deployment.succeeded"`), strings.Join(lines, "\n")
		})
		evs := parseEvents(t, events.lines())
		t.Logf("deployment %d: %v", d, eventTypes(evs))
		checkRollingTrace(t, evs, serviceEvents(t, app.Dir, home), d, v1)

		procs := expectTasks(t, app.Dir, home, 3, 2)
		for _, p := range procs {
			for _, old := range v1 {
				if p.Task == old.Task || p.PID == old.PID {
					t.Errorf("process %d of v1 task %s still runs", p.PID, old.Task)
				}
			}
		}
		r := l.expectNoFailures(t, 200)
		if r.Versions["v1"] == 0 || r.Versions["v2"] == 0 {
			t.Errorf("answers per version %v: want both v1 (before) and v2 (after)", r.Versions)
		}
	})

	t.Run("v3 failing its health check is rolled back", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		app.write(t, helloSpec{Count: 3, Env: map[string]string{"HELLO_VERSION": "v3", "HELLO_UNHEALTHY": "1"}})
		r := ferry(t, app.Dir, home, nil, "deploy")
		if r.Code != 2 || !strings.Contains(r.Stderr, "rolled back to r2: circuit breaker") {
			t.Fatalf("deploy v3: exit %d, want 2 saying it was rolled back to r2 and why\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		answersVersion(t, addr, "v2")
		expectTasks(t, app.Dir, home, 3, 2)
		rep := l.expectNoFailures(t, 100)
		if rep.Versions["v3"] > 0 {
			t.Errorf("%d answers came from the unhealthy v3", rep.Versions["v3"])
		}
	})

	t.Run("a task killed with SIGKILL is replaced", func(t *testing.T) {
		before := expectTasks(t, app.Dir, home, 3, 2)
		l := startLoad(t, addr, loadOptions{})
		victim := before[0]
		if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "a replacement of "+victim.Task, func() (bool, string) {
			for _, p := range taskProcs(t, home) {
				if p.Task == victim.Task {
					return false, "the killed task still listed"
				}
			}
			return true, ""
		})
		after := expectTasks(t, app.Dir, home, 3, 2)
		for _, p := range after {
			if p.Task == victim.Task {
				t.Errorf("the killed task %s is back instead of replaced", victim.Task)
			}
		}
		l.expectNoFailures(t, 50)
	})
}

// checkRollingTrace checks a rolling deployment of count tasks replacing
// old: its own stream (evs, read live) starts and ends as a deployment
// does, in order, and starts every new task before it stops an old one
// (max_unavailable 0); the service's trace (all) shows each new task
// registered with the router only after it launched, and each old task
// drained before it was stopped.
func checkRollingTrace(t *testing.T, evs, all []traceEvent, d int64, old []taskProc) {
	t.Helper()
	types := eventTypes(evs)
	if len(evs) < 3 || types[0] != "deployment.started" || types[len(types)-1] != "deployment.succeeded" {
		t.Fatalf("deployment %d's events: %v", d, types)
	}
	starting, stopping := 0, 0
	stopped := map[string]bool{}
	for i, e := range evs {
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Errorf("event %d after %d: not in order", e.ID, evs[i-1].ID)
		}
		if e.Deployment != d {
			t.Errorf("event %d (%s) of deployment %d in deployment %d's stream", e.ID, e.Type, e.Deployment, d)
		}
		switch e.Type {
		case "task.starting":
			starting++
		case "task.stopping":
			stopping++
			stopped[e.Task] = true
			if stopping > starting {
				t.Errorf("event %d stops an old task before a new one was started: %v", e.ID, types)
			}
		}
	}
	if starting != len(old) || stopping != len(old) {
		t.Errorf("deployment %d started %d and stopped %d tasks, want %d each: %v", d, starting, stopping, len(old), types)
	}
	for _, p := range old {
		if !stopped[p.Task] {
			t.Errorf("deployment %d never stopped old task %s", d, p.Task)
		}
	}

	at := map[string]int{} // "type task" → index in all
	for i, e := range all {
		at[e.Type+" "+e.Task] = i
	}
	before := func(a, b string) {
		ia, oka := at[a]
		ib, okb := at[b]
		if !oka || !okb || ia > ib {
			t.Errorf("want %q before %q in the service's trace %v", a, b, eventTypes(all))
		}
	}
	for _, e := range evs {
		if e.Type == "task.starting" {
			before("task.launched "+e.Task, "task.registered "+e.Task)
		}
	}
	for _, p := range old {
		before("task.stopping "+p.Task, "task.drained "+p.Task)
		before("task.drained "+p.Task, "task.stopped "+p.Task)
	}
}

// serviceEvents is web's whole trace so far.
func serviceEvents(t *testing.T, dir, home string) []traceEvent {
	t.Helper()
	r := mustFerry(t, dir, home, nil, "events", "--service", "web", "-o", "json")
	return parseEvents(t, strings.Split(strings.TrimSpace(r.Stdout), "\n"))
}

// progressDoc is the deployment part of `ferry status -o json`.
type progressDoc struct {
	ID         int64  `json:"deployment"`
	State      string `json:"state"`
	Reason     string `json:"reason"`
	Batch      int    `json:"batch"`
	NewHealthy int    `json:"new_healthy"`
	To         int    `json:"to_revision"`
	Done       bool   `json:"done"`
}

type serviceDoc struct {
	LiveRevision int          `json:"live_revision"`
	Healthy      int          `json:"healthy"`
	CrashLoop    bool         `json:"crash_loop"`
	State        string       `json:"state"`
	Message      string       `json:"message"`
	Deployment   *progressDoc `json:"deployment"`
}

// serviceState is web's entry of `ferry status -o json`, for fields the
// shared statusDoc does not carry.
func serviceState(t *testing.T, dir, home string) serviceDoc {
	t.Helper()
	raw := mustFerry(t, dir, home, nil, "status", "-o", "json").Stdout
	var st struct {
		Services []serviceDoc `json:"services"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil || len(st.Services) != 1 {
		t.Fatalf("status -o json: %v\n%s", err, raw)
	}
	return st.Services[0]
}

// serverPID reads the running server's pid from $FERRY_HOME/run/server.pid
// (internal/daemon's record).
func serverPID(t *testing.T, home string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "run", "server.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 0 {
		t.Fatalf("server.pid %q: %v", b, err)
	}
	return rec.PID
}

// killServerAndRestart kill -9s the server, proves the router serves on
// its last configuration while the server is down (a few hundred more
// answers to l), and starts the server again in the background.
func killServerAndRestart(t *testing.T, l *load, dir, home string) {
	t.Helper()
	pid := serverPID(t, home)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !gone(pid, 10*time.Second) {
		t.Fatalf("server %d survived SIGKILL", pid)
	}
	served := l.Answered()
	eventually(t, 20*time.Second, "answers while the server is down", func() (bool, string) {
		n := l.Answered() - served
		return n >= 200, fmt.Sprintf("%d answers", n)
	})
	mustFerry(t, dir, home, nil, "server", "--detach")
}

// TestServerKilledMidDeployment: kill -9 of the server while a rolling
// deployment is half done, then a restart: the deployment is finished (or
// rolled back) and recorded terminal, exactly count task processes run,
// and the router served every request meanwhile.
func TestServerKilledMidDeployment(t *testing.T) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	app.write(t, helloSpec{Count: 3, Env: map[string]string{"HELLO_VERSION": "v1"}})
	addr := upHello(t, home, app)
	expectTasks(t, app.Dir, home, 3, 1)

	l := startLoad(t, addr, loadOptions{})
	// A start-up delay keeps the deployment in flight long enough to be
	// caught half done.
	app.write(t, helloSpec{Count: 3, Env: map[string]string{"HELLO_VERSION": "v2", "HELLO_START_DELAY": "500ms"}})
	mustFerry(t, app.Dir, home, nil, "deploy", "--no-wait")
	var d progressDoc
	eventually(t, 30*time.Second, "the deployment half done", func() (bool, string) {
		s := serviceState(t, app.Dir, home)
		if s.Deployment == nil || s.Deployment.ID == 1 {
			return false, "no deployment yet"
		}
		d = *s.Deployment
		return d.NewHealthy >= 1 && !d.Done, fmt.Sprintf("%+v", d)
	})
	killServerAndRestart(t, l, app.Dir, home)

	eventually(t, 60*time.Second, fmt.Sprintf("deployment %d terminal after the restart", d.ID), func() (bool, string) {
		s := serviceState(t, app.Dir, home)
		if s.Deployment == nil || s.Deployment.ID != d.ID {
			return false, fmt.Sprintf("status shows deployment %+v", s.Deployment)
		}
		d = *s.Deployment
		return d.Done, fmt.Sprintf("%+v", d)
	})
	live := 2
	switch d.State {
	case "succeeded":
	case "rolled_back":
		live = 1
	default:
		t.Fatalf("deployment %d ended %s (%s), want succeeded or rolled_back", d.ID, d.State, d.Reason)
	}
	expectTasks(t, app.Dir, home, 3, live)
	answersVersion(t, addr, fmt.Sprintf("v%d", live))
	l.expectNoFailures(t, 300)

	evs := parseEvents(t, strings.Split(strings.TrimSpace(mustFerry(t, app.Dir, home, nil, "events", "--deployment", strconv.FormatInt(d.ID, 10), "-o", "json").Stdout), "\n"))
	if types := eventTypes(evs); types[0] != "deployment.started" || types[len(types)-1] != "deployment."+d.State {
		t.Errorf("deployment %d's events: %v", d.ID, types)
	}
}

// TestCrashLoopBacksOff: a revision whose tasks crash a second after they
// start, once live, is restarted with backoff rather than in a storm, and
// reported as a crash loop in status and in the trace.
func TestCrashLoopBacksOff(t *testing.T) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	// Fast health checks let the revision go live before its first crash.
	app.write(t, helloSpec{Count: 2, Env: map[string]string{"HELLO_CRASH_AFTER": "1s"},
		Health: "{path: /healthz, interval: 100ms, healthy_threshold: 1}"})
	upHello(t, home, app)

	var s serviceDoc
	eventually(t, 60*time.Second, "a crash loop in status", func() (bool, string) {
		s = serviceState(t, app.Dir, home)
		return s.CrashLoop && s.State == "crash_loop", fmt.Sprintf("%+v", s)
	})
	if !strings.Contains(s.Message, "crash loop") {
		t.Errorf("status message %q does not say crash loop", s.Message)
	}
	evs := serviceEvents(t, app.Dir, home)
	if !slices.Contains(eventTypes(evs), "service.crash_loop") {
		t.Fatalf("no service.crash_loop event in %v", eventTypes(evs))
	}
	// Backoff: every replacement waits at least the initial second after
	// the latest crash, and the waits grow.
	var gaps []time.Duration
	var lastCrash time.Time
	for _, e := range evs {
		switch e.Type {
		case "task.failed":
			lastCrash = e.Time
		case "task.starting":
			if !lastCrash.IsZero() {
				gaps = append(gaps, e.Time.Sub(lastCrash))
			}
		}
	}
	t.Logf("waits before replacements: %v", gaps)
	if len(gaps) < 2 {
		t.Fatalf("%d replacements before the crash loop was reported, want several: %v", len(gaps), eventTypes(evs))
	}
	for _, g := range gaps {
		if g < 900*time.Millisecond {
			t.Errorf("a replacement started %s after a crash: no backoff (waits %v)", g, gaps)
		}
	}
	if gaps[len(gaps)-1] <= gaps[0] {
		t.Errorf("waits before replacements %v do not grow", gaps)
	}
}

// TestSlowBootingAppDeploysWithStartPeriod: an app that listens only after
// 3s, checked every 500ms with unhealthy_threshold 2, would be found
// unhealthy (nothing listening) long before it came up, and replaced again
// and again. Its start period lets it boot: the deploy goes live with its
// first task, none replaced.
func TestSlowBootingAppDeploysWithStartPeriod(t *testing.T) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	app.write(t, helloSpec{Count: 1, Env: map[string]string{"HELLO_START_DELAY": "3s"},
		Health: "{path: /healthz, interval: 500ms, unhealthy_threshold: 2, start_period: 20s}"})
	upHello(t, home, app)

	evs := serviceEvents(t, app.Dir, home)
	types := eventTypes(evs)
	if n := strings.Count(strings.Join(types, " "), "task.starting"); n != 1 {
		t.Errorf("%d tasks started, want the first one only: %v", n, types)
	}
	for _, bad := range []string{"task.unhealthy", "task.failed", "deployment.rolling_back"} {
		if slices.Contains(types, bad) {
			t.Errorf("%s in the trace: %v", bad, types)
		}
	}
	if !slices.Contains(types, "deployment.succeeded") {
		t.Errorf("no deployment.succeeded in %v", types)
	}
}
