package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// runtimeKind is the driver a scenario deploys hello on: the same scenario
// runs on each.
type runtimeKind string

const (
	onProcess runtimeKind = "process"
	onDocker  runtimeKind = "docker"
)

// up starts router and server in home and deploys hello as written on rt.
func (rt runtimeKind) up(t *testing.T, home string, app helloApp) (addr string) {
	t.Helper()
	if rt == onDocker {
		addr, _ = upDocker(t, engine(t), home, app)
		return addr
	}
	return upHello(t, home, app)
}

// running returns what counts home's running tasks: its task processes
// (process) or its containers (docker).
func (rt runtimeKind) running(t *testing.T, home string) func() int {
	t.Helper()
	if rt == onDocker {
		cli := engine(t)
		return func() int { return len(containers(t, cli, home)) }
	}
	return func() int { return len(taskProcs(t, home)) }
}

// program is how a task on rt names a program of the build output: the
// process runtime runs in the output directory, the image holds it at /.
func (rt runtimeKind) program(name string) string {
	if rt == onDocker {
		return "/" + name
	}
	return "./" + name
}

// migrateSource is a hook program that exists in a FROM scratch image too
// (which has no shell): it prints and exits 3.
const migrateSource = `package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("migrating")
	os.Exit(3)
}
`

// writeStrategy writes hello's ferry.yaml for processes with a deploy:
// block and hooks.
func writeStrategy(t *testing.T, app helloApp, count int, env map[string]string, deploy, hooks string) {
	t.Helper()
	writeStrategyOn(t, onProcess, app, count, env, deploy, hooks)
}

// writeStrategyOn writes hello's ferry.yaml for rt with a deploy: block and
// hooks; the build also makes the migrate hook program.
func writeStrategyOn(t *testing.T, rt runtimeKind, app helloApp, count int, env map[string]string, deploy, hooks string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(app.Dir, "migrate"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app.Dir, "migrate", "main.go"), []byte(migrateSource), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `app: hello
build:
  steps:
    - name: app
      inputs: ["*.go", "migrate/*.go"]
      run: CGO_ENABLED=0 go build -o out/hello . && CGO_ENABLED=0 go build -o out/migrate ./migrate
  output: out/
services:
  web:
    command: [./hello]
    port: http
    count: %d
    health: {path: /healthz}
    routes: [{host: hello.localhost}]
    deploy: %s
`, count, deploy)
	if hooks != "" {
		fmt.Fprintf(&b, "    hooks: %s\n", hooks)
	}
	if len(env) > 0 {
		b.WriteString("    env:\n")
		for k, v := range env {
			fmt.Fprintf(&b, "      %s: %q\n", k, v)
		}
	}
	if err := os.WriteFile(app.File, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if rt == onDocker {
		app.dockerize(t)
	}
}

// askWith sends one request for hello.localhost with extra headers; ok is
// false for anything but hello's 200 answer.
func askWith(addr string, header map[string]string) (helloAnswer, bool) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "hello.localhost"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return helloAnswer{}, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a helloAnswer
	return a, resp.StatusCode == 200 && json.Unmarshal(body, &a) == nil
}

// strategyProgress is the part of `status -o json` about the deployment.
type strategyProgress struct {
	ID      int64          `json:"deployment"`
	State   string         `json:"state"`
	To      int            `json:"to_revision"`
	Step    int            `json:"step"`
	Steps   int            `json:"steps"`
	Weights map[string]int `json:"weights"`
}

func currentDeployment(t *testing.T, dir, home string) (strategyProgress, int) {
	t.Helper()
	raw := mustFerry(t, dir, home, nil, "status", "-o", "json").Stdout
	var st struct {
		Services []struct {
			Deployment *strategyProgress `json:"deployment"`
			Tasks      []struct{}        `json:"tasks"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil || len(st.Services) != 1 {
		t.Fatalf("status -o json: %v\n%s", err, raw)
	}
	if st.Services[0].Deployment == nil {
		return strategyProgress{}, len(st.Services[0].Tasks)
	}
	return *st.Services[0].Deployment, len(st.Services[0].Tasks)
}

// waitWeight waits until deployment after `before` gives group weight w.
func waitWeight(t *testing.T, dir, home string, before int64, w int) strategyProgress {
	t.Helper()
	var p strategyProgress
	eventually(t, 60*time.Second, fmt.Sprintf("the new group at %d%%", w), func() (bool, string) {
		p, _ = currentDeployment(t, dir, home)
		return p.ID != before && p.Weights[fmt.Sprintf("r%d", p.To)] == w && p.State == "in_progress", fmt.Sprintf("%+v", p)
	})
	return p
}

// share asks n times and returns the share of answers from version v.
func share(t *testing.T, addr, v string, n int) float64 {
	t.Helper()
	got := 0
	for range n {
		a, ok := askWith(addr, nil)
		if !ok {
			t.Fatalf("a request failed while measuring the split")
		}
		if a.Version == v {
			got++
		}
	}
	return float64(got) / float64(n)
}

// allFrom checks that every answer comes from version v, 200 in a row: a
// deployment ends rolled back or aborted only once the router shows the
// stable split, so there is no grace period.
func allFrom(t *testing.T, addr, v string) {
	t.Helper()
	if s := share(t, addr, v, 200); s != 1 {
		t.Errorf("%s answered %d of 200 requests, want all", v, int(s*200))
	}
}

// onlyFailuresOf fails the test for a failed request not answered by
// version v's deliberate 500s.
func onlyFailuresOf(t *testing.T, r rig.LoadReport, v string) int {
	t.Helper()
	n := 0
	for _, f := range r.Failures {
		if f.Status == 500 && f.Version == v {
			n++
			continue
		}
		t.Errorf("a request failed that %s did not fail on purpose: %s", v, f)
	}
	return n
}

// eventTimes returns the time of the first event of each type for d.
func eventTimes(t *testing.T, dir, home string, d int64) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, e := range serviceEvents(t, dir, home) {
		if e.Deployment == d {
			if _, ok := out[e.Type+"|"+e.Message]; !ok {
				out[e.Type+"|"+e.Message] = e.Time
			}
			if _, ok := out[e.Type]; !ok {
				out[e.Type] = e.Time
			}
		}
	}
	return out
}

// TestCanary: under constant load, the observed split matches each
// weight, promote and abort act mid-canary, and a revision failing 20% of
// its requests is rolled back by analysis in time with no failure on the
// stable revision.
func TestCanary(t *testing.T) { testCanary(t, onProcess) }

func testCanary(t *testing.T, rt runtimeKind) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	const waiting = `{strategy: canary, steps: [{weight: 30, pause: ~}, {weight: 70, pause: ~}]}`
	writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v1"}, waiting, "")
	addr := rt.up(t, home, app)
	answersVersion(t, addr, "v1")

	t.Run("split follows the weights; promote moves on", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v2"}, waiting, "")
		deploy := startFerry(t, app.Dir, home, "deploy")
		p := waitWeight(t, app.Dir, home, 1, 30)
		// 400 requests: the binomial standard deviation at 30% is 2.3
		// points; ±10 points is over 4 of them.
		if s := share(t, addr, "v2", 400); s < 0.20 || s > 0.40 {
			t.Errorf("v2 answered %.0f%% at weight 30 (tolerance ±10 points)", s*100)
		}
		mustFerry(t, app.Dir, home, nil, "promote", "web")
		waitWeight(t, app.Dir, home, 1, 70)
		if s := share(t, addr, "v2", 400); s < 0.60 || s > 0.80 {
			t.Errorf("v2 answered %.0f%% at weight 70 (tolerance ±10 points)", s*100)
		}
		mustFerry(t, app.Dir, home, nil, "promote", "web")
		if code := deploy.wait(t, time.Minute); code != 0 {
			t.Fatalf("deploy v2: exit %d\n%s\n%s", code, strings.Join(deploy.lines(), "\n"), deploy.stderr())
		}
		answersVersion(t, addr, "v2")
		l.expectNoFailures(t, 200)
		if p.Steps != 3 {
			t.Errorf("progress %+v: want 3 steps (30, 70, 100)", p)
		}
	})

	t.Run("abort mid-canary", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		before, _ := currentDeployment(t, app.Dir, home)
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v3"}, waiting, "")
		deploy := startFerry(t, app.Dir, home, "deploy")
		waitWeight(t, app.Dir, home, before.ID, 30)
		mustFerry(t, app.Dir, home, nil, "promote", "web", "--full")
		eventually(t, 30*time.Second, "v3 at 100%", func() (bool, string) {
			p, _ := currentDeployment(t, app.Dir, home)
			return p.State == "succeeded", fmt.Sprintf("%+v", p)
		})
		if code := deploy.wait(t, time.Minute); code != 0 {
			t.Fatalf("deploy v3 after promote --full: exit %d\n%s", code, deploy.stderr())
		}
		before, _ = currentDeployment(t, app.Dir, home)
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v4"}, waiting, "")
		deploy = startFerry(t, app.Dir, home, "deploy")
		waitWeight(t, app.Dir, home, before.ID, 30)
		mustFerry(t, app.Dir, home, nil, "abort", "web")
		if code := deploy.wait(t, time.Minute); code == 0 || !strings.Contains(strings.Join(deploy.lines(), "\n")+deploy.stderr(), "abort") {
			t.Fatalf("deploy v4 after abort: exit %d, want non-zero saying aborted\n%s\n%s", code, strings.Join(deploy.lines(), "\n"), deploy.stderr())
		}
		allFrom(t, addr, "v3")
		l.expectNoFailures(t, 200)
	})

	t.Run("analysis rolls back a canary failing 20%", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{Every: 5 * time.Millisecond})
		before, _ := currentDeployment(t, app.Dir, home)
		const interval, limit = 2 * time.Second, 2
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v5", "HELLO_FAIL_PERCENT": "20"},
			`{strategy: canary, steps: [{weight: 50, pause: 5m}], analysis: {max_error_rate: 5%, min_requests: 20, interval: 2s, failure_limit: 2}}`, "")
		r := ferry(t, app.Dir, home, nil, "deploy")
		if r.Code != 2 || !strings.Contains(r.Stderr+r.Stdout, "analysis failed") {
			t.Fatalf("deploy v5: exit %d, want 2 saying analysis failed\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		p, _ := currentDeployment(t, app.Dir, home)
		times := eventTimes(t, app.Dir, home, p.ID)
		took := times["deployment.rolled_back"].Sub(times["deployment.step"])
		t.Logf("deployment %d: traffic at 50%% → rolled back in %s (limit %s)", p.ID, took, interval*limit+interval)
		if p.ID == before.ID || times["deployment.step"].IsZero() || took > interval*limit+interval {
			t.Errorf("rolled back %s after the canary took traffic, want within %s (events %v)", took, interval*limit+interval, times)
		}
		allFrom(t, addr, "v3")
		rep := l.Stop()
		if n := onlyFailuresOf(t, rep, "v5"); n == 0 {
			t.Errorf("v5 failed no request: the test did not exercise analysis")
		}
	})
}

// TestBlueGreen: test traffic reaches green before promotion and never
// after an abort; promotion moves all traffic at once; a failing
// before_traffic hook rolls back.
func TestBlueGreen(t *testing.T) { testBlueGreen(t, onProcess) }

func testBlueGreen(t *testing.T, rt runtimeKind) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	const bg = `{strategy: blue_green, auto_promote: false, test_route: {header: "X-Ferry-Test: green"}}`
	test := map[string]string{"X-Ferry-Test": "green"}
	writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v1"}, bg, "")
	addr := rt.up(t, home, app)
	answersVersion(t, addr, "v1")

	t.Run("test header reaches green, promote switches", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v2"}, bg, "")
		deploy := startFerry(t, app.Dir, home, "deploy")
		eventually(t, 60*time.Second, "a test request answered by green", func() (bool, string) {
			a, _ := askWith(addr, test)
			return a.Version == "v2", a.Version
		})
		if s := share(t, addr, "v1", 100); s != 1 {
			t.Errorf("before promotion blue answered %.0f%% of production traffic, want all", s*100)
		}
		mustFerry(t, app.Dir, home, nil, "promote", "web")
		if code := deploy.wait(t, time.Minute); code != 0 {
			t.Fatalf("deploy v2: exit %d\n%s", code, deploy.stderr())
		}
		answersVersion(t, addr, "v2")
		l.expectNoFailures(t, 100)
	})

	t.Run("abort: test traffic never reaches green after it", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v3"}, bg, "")
		deploy := startFerry(t, app.Dir, home, "deploy")
		eventually(t, 60*time.Second, "a test request answered by green", func() (bool, string) {
			a, _ := askWith(addr, test)
			return a.Version == "v3", a.Version
		})
		mustFerry(t, app.Dir, home, nil, "abort", "web")
		if code := deploy.wait(t, time.Minute); code == 0 {
			t.Fatalf("deploy v3 exited 0 after an abort")
		}
		for range 100 {
			if a, ok := askWith(addr, test); !ok || a.Version != "v2" {
				t.Fatalf("a test request after the abort: %+v ok=%v, want v2", a, ok)
			}
		}
		l.expectNoFailures(t, 100)
	})

	t.Run("failing before_traffic rolls back", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v4"},
			`{strategy: blue_green, auto_promote: true}`, fmt.Sprintf(`{before_traffic: {command: [%s], timeout: 10s}}`, rt.program("migrate")))
		r := ferry(t, app.Dir, home, nil, "deploy")
		if r.Code != 2 || !strings.Contains(r.Stderr+r.Stdout, "before_traffic hook failed") {
			t.Fatalf("deploy v4: exit %d, want 2 saying before_traffic failed\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		rep := l.expectNoFailures(t, 50)
		if rep.Versions["v4"] != 0 {
			t.Errorf("v4 answered %d production requests", rep.Versions["v4"])
		}
		found := false
		var hooks []string
		for _, e := range serviceEvents(t, app.Dir, home) {
			if e.Type == "task.hook" {
				hooks = append(hooks, e.Message)
				found = found || (strings.Contains(e.Message, "migrating") && strings.Contains(e.Message, "exit code 3"))
			}
		}
		if !found {
			t.Errorf("the hook's output and exit code are not in the trace; its events:\n%s", strings.Join(hooks, "\n"))
		}
	})
}

// TestImmutable: the new set starts complete beside the old (capacity
// doubles), takes traffic once healthy, and the old set goes.
func TestImmutable(t *testing.T) { testImmutable(t, onProcess) }

func testImmutable(t *testing.T, rt runtimeKind) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v1"}, `{strategy: immutable}`, "")
	addr := rt.up(t, home, app)
	answersVersion(t, addr, "v1")
	l := startLoad(t, addr, loadOptions{})
	writeStrategyOn(t, rt, app, 2, map[string]string{"HELLO_VERSION": "v2", "HELLO_START_DELAY": "1s"}, `{strategy: immutable}`, "")
	running := rt.running(t, home)
	deploy := startFerry(t, app.Dir, home, "deploy")
	peak := 0
	for {
		select {
		case <-deploy.done:
		default:
			peak = max(peak, running())
			time.Sleep(50 * time.Millisecond)
			continue
		}
		break
	}
	if deploy.code != 0 {
		t.Fatalf("deploy v2: exit %d\n%s", deploy.code, deploy.stderr())
	}
	if peak != 4 {
		t.Errorf("at most %d tasks ran at once, want 4 (the capacity doubles)", peak)
	}
	if rt == onDocker {
		expectContainers(t, engine(t), home, 2, 2)
	} else {
		expectTasks(t, app.Dir, home, 2, 2)
	}
	l.expectNoFailures(t, 100)
}
