package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeHookedHello writes hello's ferry.yaml with a launch and a pre_stop
// hook that record when they ran, and hello wrapped in a shell that
// records when the task got SIGTERM; marks are files in marks named
// <what>.<task id>, holding Unix nanoseconds.
func writeHookedHello(t *testing.T, app helloApp, marks, version string) {
	t.Helper()
	stamp := func(what string) string { return fmt.Sprintf(`date +%%s%%N > %s/%s.$FERRY_TASK_ID`, marks, what) }
	run := fmt.Sprintf(`trap '%s' TERM; ./hello & p=$!; wait $p; wait $p`, stamp("term"))
	// pre_stop outlasts its 1s timeout by beating, once with the CLI and
	// once with a plain touch.
	preStop := fmt.Sprintf(`%s; sleep 0.6; %s hook heartbeat; sleep 0.6; touch "$FERRY_HOOK_HEARTBEAT"; sleep 0.6; %s`,
		stamp("prestop"), ferryBin, stamp("prestop-end"))
	text := fmt.Sprintf(`app: hello
build:
  steps:
    - name: app
      inputs: ["*.go"]
      run: CGO_ENABLED=0 go build -o out/hello .
  output: out/
services:
  web:
    command: [sh, -c, %q]
    port: http
    count: 1
    health: {path: /healthz}
    routes: [{host: hello.localhost}]
    env: {HELLO_VERSION: %s}
    hooks:
      launch: {command: [sh, -c, %q], timeout: 10s}
      pre_stop: {command: [sh, -c, %q], timeout: 1s}
`, run, version, stamp("launch"), preStop)
	if err := os.WriteFile(app.File, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mark reads a mark file; ok is false while it is not there.
func mark(t *testing.T, marks, what, task string) (time.Time, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(marks, what+"."+task))
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("mark %s.%s: %v", what, task, err)
	}
	return time.Unix(0, ns), true
}

// served tracks, per task, when the first and the last answer through the
// router arrived.
type served struct {
	mu          sync.Mutex
	first, last map[string]time.Time
	failed      int
}

func serveLoad(t *testing.T, addr string) (*served, func()) {
	s := &served{first: map[string]time.Time{}, last: map[string]time.Time{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, err := askHello(addr)
			now := time.Now()
			s.mu.Lock()
			if err != nil {
				s.failed++
			} else {
				if _, ok := s.first[a.Task]; !ok {
					s.first[a.Task] = now
				}
				s.last[a.Task] = now
			}
			s.mu.Unlock()
		}
	}()
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(halt)
	return s, halt
}

// TestLifecycleHooksOrder: launch runs on each new task before it gets
// traffic; pre_stop runs after the task's last request and before its
// SIGTERM, and heartbeats keep it running past its timeout.
func TestLifecycleHooksOrder(t *testing.T) {
	home := shortFerryHome(t)
	marks := t.TempDir()
	app := newHelloApp(t, home)
	writeHookedHello(t, app, marks, "v1")
	addr := upHello(t, home, app)
	answersVersion(t, addr, "v1")
	load, halt := serveLoad(t, addr)
	eventually(t, 10*time.Second, "an answer under load", func() (bool, string) {
		load.mu.Lock()
		defer load.mu.Unlock()
		return len(load.last) == 1, fmt.Sprint(load.last)
	})

	writeHookedHello(t, app, marks, "v2")
	mustFerry(t, app.Dir, home, nil, "deploy")
	answersVersion(t, addr, "v2")
	var old string
	load.mu.Lock()
	for task := range load.first {
		if _, ok := mark(t, marks, "launch", task); !ok {
			t.Errorf("task %s served requests without a launch hook run", task)
		}
	}
	load.mu.Unlock()
	eventually(t, 30*time.Second, "the v1 task signalled", func() (bool, string) {
		load.mu.Lock()
		defer load.mu.Unlock()
		for task := range load.first {
			if _, ok := mark(t, marks, "term", task); ok {
				old = task
				return true, ""
			}
		}
		return false, "no task got SIGTERM yet"
	})
	halt()

	load.mu.Lock()
	defer load.mu.Unlock()
	if load.failed > 0 {
		t.Errorf("%d requests failed during the deploy", load.failed)
	}
	if len(load.first) != 2 {
		t.Fatalf("answers came from tasks %v, want the v1 and the v2 task", load.first)
	}
	pre, ok1 := mark(t, marks, "prestop", old)
	end, ok2 := mark(t, marks, "prestop-end", old)
	term, _ := mark(t, marks, "term", old)
	if !ok1 || !ok2 {
		t.Fatalf("the pre_stop hook of %s did not run to its end (start %v, end %v)", old, ok1, ok2)
	}
	last := load.last[old]
	if !last.Before(pre) || !end.Before(term) {
		t.Errorf("%s: last answer %s, pre_stop %s … %s, SIGTERM %s: want last answer < pre_stop < SIGTERM",
			old, last.Format(time.StampMicro), pre.Format(time.StampMicro), end.Format(time.StampMicro), term.Format(time.StampMicro))
	}
	if end.Sub(pre) < 1500*time.Millisecond {
		t.Errorf("pre_stop ran %s; the test meant it to outlast its 1s timeout", end.Sub(pre))
	}
	for task, first := range load.first {
		if task == old {
			continue
		}
		if l, _ := mark(t, marks, "launch", task); !l.Before(first) {
			t.Errorf("new task %s: launch hook at %s, first answer at %s: want the hook first", task,
				l.Format(time.StampMicro), first.Format(time.StampMicro))
		}
	}
	passed := false
	for _, e := range serviceEvents(t, app.Dir, home) {
		passed = passed || (e.Type == "task.hook" && strings.Contains(e.Message, old+" pre_stop hook succeeded"))
	}
	if !passed {
		t.Errorf("the trace has no successful pre_stop hook of %s", old)
	}
}
