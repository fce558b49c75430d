package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address nothing listens on right now, for the
// router that `ferry up` starts in another process.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// helloAnswer is what examples/hello answers on /.
type helloAnswer struct {
	Version string `json:"version"`
	Task    string `json:"task"`
}

// askHello sends one request for hello.localhost through the router.
func askHello(addr string) (helloAnswer, error) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "hello.localhost"
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return helloAnswer{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return helloAnswer{}, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var a helloAnswer
	return a, json.Unmarshal(body, &a)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, within, last)
}

// answersVersion waits until every one of n answers through the router
// comes from version v.
func answersVersion(t *testing.T, addr, v string) {
	t.Helper()
	eventually(t, 20*time.Second, "answers from "+v, func() (bool, string) {
		for range 6 {
			a, err := askHello(addr)
			if err != nil {
				return false, err.Error()
			}
			if a.Version != v {
				return false, "version " + a.Version
			}
		}
		return true, ""
	})
}

type statusDoc struct {
	Services []struct {
		Name         string `json:"name"`
		LiveRevision int    `json:"live_revision"`
		Desired      int    `json:"desired"`
		Healthy      int    `json:"healthy"`
		Tasks        []struct {
			ID       string `json:"id"`
			Revision int    `json:"revision"`
			State    string `json:"state"`
			Addr     string `json:"addr"`
		} `json:"tasks"`
	} `json:"services"`
}

func status(t *testing.T, dir, home string) statusDoc {
	t.Helper()
	var st statusDoc
	r := mustFerry(t, dir, home, nil, "status", "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, r.Stdout)
	}
	if len(st.Services) != 1 || st.Services[0].Name != "web" {
		t.Fatalf("status: want the one service web, got %+v", st)
	}
	return st
}

// helloYAML is the example's definition (2 tasks of web) with envLines,
// already indented, under web's env.
func helloYAML(envLines string) string {
	return `app: hello
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
    count: 2
    health: {path: /healthz}
    routes: [{host: hello.localhost}]
    env:
` + envLines
}

// setEnv rewrites the example's ferry.yaml with env for web.
func setEnv(t *testing.T, file string, env map[string]string) {
	t.Helper()
	var b strings.Builder
	for k, v := range env {
		fmt.Fprintf(&b, "      %s: %q\n", k, v)
	}
	if err := os.WriteFile(file, []byte(helloYAML(b.String())), 0o644); err != nil {
		t.Fatal(err)
	}
}

func revisionCount(t *testing.T, dir, home string) int {
	t.Helper()
	var revs map[string][]json.RawMessage
	r := mustFerry(t, dir, home, nil, "revisions", "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &revs); err != nil {
		t.Fatalf("revisions -o json: %v\n%s", err, r.Stdout)
	}
	return len(revs["web"])
}

// TestCLIDeliversTheExample walks the README's path through the real binary:
// up, deploy, a failed deploy rolled back, status, revisions, rollback,
// scale, restart, exec, logs, events, and bad input that changes nothing.
func TestCLIDeliversTheExample(t *testing.T) {
	home := shortFerryHome(t)
	addr := freeAddr(t)
	t.Cleanup(func() {
		if r := ferry(t, home, home, nil, "down", "--all"); r.Code != 0 {
			t.Errorf("down --all: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})

	up := mustFerry(t, home, home, nil, "up", "--example", "hello", "--listen", addr)
	if !strings.Contains(up.Stdout, "curl -H 'Host: hello.localhost' http://"+addr+"/") {
		t.Errorf("up does not print the curl line:\n%s", up.Stdout)
	}
	answersVersion(t, addr, "1") // HELLO_VERSION unset: hello answers its revision
	app := filepath.Join(home, "examples", "hello")
	yaml := filepath.Join(app, "ferry.yaml")

	t.Run("up again is idempotent", func(t *testing.T) {
		r := mustFerry(t, home, home, nil, "up", "--example", "hello", "--listen", addr)
		if !strings.Contains(r.Stdout, "web: unchanged") {
			t.Errorf("second up:\n%s", r.Stdout)
		}
	})

	setEnv(t, yaml, map[string]string{"HELLO_VERSION": "v2"})
	d2 := mustFerry(t, app, home, nil, "deploy")
	if !strings.Contains(d2.Stdout, "r1 → r2 succeeded") {
		t.Errorf("deploy v2 output:\n%s", d2.Stdout)
	}
	answersVersion(t, addr, "v2")

	t.Run("broken v3 is rolled back", func(t *testing.T) {
		setEnv(t, yaml, map[string]string{"HELLO_VERSION": "v3", "HELLO_UNHEALTHY": "1"})
		r := ferry(t, app, home, nil, "deploy")
		if r.Code != 2 || !strings.Contains(r.Stderr, "rolled back to r2") {
			t.Fatalf("deploy v3: exit %d, want 2 saying rolled back\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		answersVersion(t, addr, "v2")
		st := status(t, app, home)
		if s := st.Services[0]; s.LiveRevision != 2 || s.Healthy != 2 {
			t.Errorf("after the rollback: live r%d, %d healthy; want r2, 2", s.LiveRevision, s.Healthy)
		}
		setEnv(t, yaml, map[string]string{"HELLO_VERSION": "v2"})
	})

	t.Run("revisions", func(t *testing.T) {
		if n := revisionCount(t, app, home); n != 3 {
			t.Errorf("%d revisions, want 3", n)
		}
		r := mustFerry(t, app, home, nil, "revisions", "web")
		if !strings.Contains(r.Stdout, "REVISION") || !strings.Contains(r.Stdout, "r3") {
			t.Errorf("revisions table:\n%s", r.Stdout)
		}
	})

	t.Run("diff", func(t *testing.T) {
		r := ferry(t, app, home, nil, "diff")
		if r.Code != 0 {
			t.Errorf("diff against the live v2: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		setEnv(t, yaml, map[string]string{"HELLO_VERSION": "v9"})
		r = ferry(t, app, home, nil, "diff")
		if r.Code != 1 || !strings.Contains(r.Stdout, "\n-    \"HELLO_VERSION\": \"v2\"\n") || !strings.Contains(r.Stdout, "\n+    \"HELLO_VERSION\": \"v9\"\n") {
			t.Errorf("diff against a changed file: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		setEnv(t, yaml, map[string]string{"HELLO_VERSION": "v2"})
	})

	t.Run("rollback --to 1", func(t *testing.T) {
		mustFerry(t, app, home, nil, "rollback", "web", "--to", "1")
		answersVersion(t, addr, "1")
		if st := status(t, app, home); st.Services[0].LiveRevision != 1 {
			t.Errorf("live r%d after rollback --to 1", st.Services[0].LiveRevision)
		}
	})

	t.Run("scale", func(t *testing.T) {
		mustFerry(t, app, home, nil, "scale", "web=3")
		eventually(t, 20*time.Second, "3 healthy tasks", func() (bool, string) {
			s := status(t, app, home).Services[0]
			return s.Healthy == 3 && len(s.Tasks) == 3, fmt.Sprintf("%d healthy of %d tasks", s.Healthy, len(s.Tasks))
		})
	})

	var replaced string // a task restart replaced: gone from the store
	t.Run("restart", func(t *testing.T) {
		before := map[string]bool{}
		for _, task := range status(t, app, home).Services[0].Tasks {
			before[task.ID] = true
		}
		mustFerry(t, app, home, nil, "restart", "web")
		s := status(t, app, home).Services[0]
		if s.Healthy != 3 {
			t.Errorf("after restart: %d healthy, want 3", s.Healthy)
		}
		for _, task := range s.Tasks {
			if before[task.ID] {
				t.Errorf("task %s survived the restart", task.ID)
			}
		}
		for id := range before {
			replaced = id
		}
	})

	t.Run("exec", func(t *testing.T) {
		r := mustFerry(t, app, home, nil, "exec", "web", "--", "sh", "-c", "echo $FERRY_TASK_ID")
		id := strings.TrimSpace(r.Stdout)
		found := false
		for _, task := range status(t, app, home).Services[0].Tasks {
			found = found || task.ID == id
		}
		if !found {
			t.Errorf("exec printed %q, not a task id of web", id)
		}
		if r := ferry(t, app, home, nil, "exec", "web", "--", "sh", "-c", "exit 7"); r.Code != 7 {
			t.Errorf("exec of a command exiting 7: exit %d", r.Code)
		}
	})

	t.Run("logs", func(t *testing.T) {
		r := mustFerry(t, app, home, nil, "logs", "web")
		if !strings.Contains(r.Stdout, "listening on") {
			t.Errorf("logs do not show hello's output:\n%s", r.Stdout)
		}
		// A task gone from the store keeps its output.
		if replaced == "" {
			t.Fatal("the restart subtest left no replaced task")
		}
		r = mustFerry(t, app, home, nil, "logs", "web", "--task", replaced)
		if !strings.Contains(r.Stdout, "listening on") || !strings.Contains(r.Stdout, "shutting down") {
			t.Errorf("logs of the replaced task %s do not show its start and stop:\n%s", replaced, r.Stdout)
		}
		never := strings.TrimSuffix(replaced, replaced[strings.LastIndexByte(replaced, '-'):]) + "-999"
		if r := ferry(t, app, home, nil, "logs", "web", "--task", never); r.Code == 0 || !strings.Contains(r.Stderr, never) {
			t.Errorf("logs of a task that never ran: exit %d, want an error naming it\n%s", r.Code, r.Stderr)
		}
	})

	t.Run("events", func(t *testing.T) {
		r := mustFerry(t, app, home, nil, "events", "--deployment", "2", "-o", "json")
		var types []string
		last := int64(0)
		for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			var e struct {
				ID   int64  `json:"id"`
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("events line %q: %v", line, err)
			}
			if e.ID <= last {
				t.Errorf("event %d after %d: not in order", e.ID, last)
			}
			last = e.ID
			types = append(types, e.Type)
		}
		if len(types) < 3 || types[0] != "deployment.started" || types[len(types)-1] != "deployment.succeeded" {
			t.Errorf("deployment 2's events: %v", types)
		}
	})

	t.Run("bad input changes nothing", func(t *testing.T) {
		revs := revisionCount(t, app, home)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"scale", "nope=2"}, `no service "nope"`},
			{[]string{"logs", "nope"}, `no service "nope"`},
			{[]string{"deploy", "--env", "nope"}, `no environment "nope"`},
			{[]string{"status", "--env", "nope"}, `no environment "nope"`},
			{[]string{"scale", "web=-1"}, "must be a whole number"},
		} {
			r := ferry(t, app, home, nil, tc.args...)
			if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("ferry %s: exit %d, want an error saying %q\n%s", strings.Join(tc.args, " "), r.Code, tc.want, r.Stderr)
			}
		}
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, "ferry.yaml"), []byte("app: hello\nservices:\n  web:\n    count: lots\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := ferry(t, bad, home, nil, "deploy")
		if r.Code == 0 || !strings.Contains(r.Stderr, "ferry.yaml:4") {
			t.Errorf("deploy of an invalid ferry.yaml: exit %d, want an error naming ferry.yaml:4\n%s", r.Code, r.Stderr)
		}
		if n := revisionCount(t, app, home); n != revs {
			t.Errorf("bad input made revisions: %d, was %d", n, revs)
		}
		if s := status(t, app, home).Services[0]; s.Desired != 3 {
			t.Errorf("bad input changed the count to %d", s.Desired)
		}
	})

	t.Run("down --all then up brings the tasks back", func(t *testing.T) {
		r := mustFerry(t, home, home, nil, "down", "--all")
		if !strings.Contains(r.Stdout, "stopped 3 task(s)") {
			t.Errorf("down --all:\n%s", r.Stdout)
		}
		if _, err := askHello(addr); err == nil {
			t.Error("the app still answers after down --all")
		}
		mustFerry(t, app, home, nil, "up", "--listen", addr)
		if _, err := askHello(addr); err != nil {
			t.Errorf("after up: %v", err)
		}
		if s := status(t, app, home).Services[0]; s.Healthy != 3 {
			t.Errorf("after up: %d healthy, want the 3 scaled", s.Healthy)
		}
	})
}
