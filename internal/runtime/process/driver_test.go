package process

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime"
)

var ports runtime.PortAllocator

func newDriver(t *testing.T) *Driver {
	t.Helper()
	return &Driver{Home: testHome(t)}
}

// testHome is a temp home whose task state on a tmpfs, if any, goes with it.
func testHome(t testing.TB) home.Dir {
	t.Helper()
	h, err := home.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if dir := TmpfsHome(h); dir != "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	return h
}

func helloSpec(t *testing.T, id string, env map[string]string) runtime.TaskSpec {
	t.Helper()
	port, err := ports.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ports.Release(port) })
	return runtime.TaskSpec{ID: id, App: "shop", Environment: "staging", Service: "web", Revision: 3,
		Dir: helloDir, Command: []string{"./hello"}, Env: env, Port: port}
}

// start starts spec and stops the task when the test ends.
func start(t *testing.T, d *Driver, spec runtime.TaskSpec) runtime.Status {
	t.Helper()
	st, err := d.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(context.Background(), st.Handle, "SIGKILL", time.Second) })
	return st
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %s: still not %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getRoot(addr string) (map[string]string, error) {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]string
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

func waitServing(t *testing.T, addr string) map[string]string {
	t.Helper()
	var got map[string]string
	eventually(t, "serving on "+addr, 10*time.Second, func() bool {
		m, err := getRoot(addr)
		got = m
		return err == nil
	})
	return got
}

func procEnv(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	return env
}

func mustHandle(t *testing.T, s string) Handle {
	t.Helper()
	h, err := ParseHandle(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStartRunsTaskWithItsEnvironmentInItsOwnSession(t *testing.T) {
	d := newDriver(t)
	d.BaseEnv = append(os.Environ(), "SERVER_SECRET=hunter2", "HOME=/home/ferry")
	spec := helloSpec(t, "web-3-a1", map[string]string{"GREETING": "hi"})
	st := start(t, d, spec)
	if !st.Running || st.ID != "web-3-a1" || st.Addr != "127.0.0.1:"+strconv.Itoa(spec.Port) || st.StartedAt.IsZero() {
		t.Fatalf("Start = %+v", st)
	}
	got, err := d.Inspect(context.Background(), st.Handle)
	if err != nil || !got.Running || got.Addr != st.Addr {
		t.Fatalf("Inspect = %+v, %v", got, err)
	}
	answer := waitServing(t, st.Addr)
	if answer["task"] != "web-3-a1" || answer["revision"] != "3" {
		t.Fatalf("task answered %v", answer)
	}
	pid := mustHandle(t, st.Handle).PID
	env := procEnv(t, pid)
	for k, v := range map[string]string{"FERRY_APP": "shop", "FERRY_SERVICE": "web", "FERRY_ENVIRONMENT": "staging",
		"FERRY_REVISION": "3", "FERRY_TASK_ID": "web-3-a1", "PORT": strconv.Itoa(spec.Port), "GREETING": "hi", "HOME": "/home/ferry"} {
		if env[k] != v {
			t.Errorf("task env %s = %q, want %q", k, env[k], v)
		}
	}
	if _, leaked := env["SERVER_SECRET"]; leaked {
		t.Error("the server's environment leaked into the task")
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != helloDir {
		t.Errorf("task cwd %q, want %q", cwd, helloDir)
	}
	// Its own process group, in a session that is not ours: it outlives us.
	pgid, _ := syscall.Getpgid(pid)
	sid, _ := getsid(pid)
	mySid, _ := getsid(os.Getpid())
	if pgid != pid || sid == mySid {
		t.Errorf("task pgid %d (pid %d), sid %d (ours %d)", pgid, pid, sid, mySid)
	}
	list, err := d.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Handle != st.Handle {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

func TestStopEscalatesToSIGKILLAfterTimeout(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-stubborn", map[string]string{"HELLO_IGNORE_SIGTERM": "60s"}))
	waitServing(t, st.Addr)
	begin := time.Now()
	if err := d.Stop(context.Background(), st.Handle, "SIGTERM", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	if took < 300*time.Millisecond || took > 10*time.Second {
		t.Fatalf("Stop took %s, want the 300ms timeout then a kill", took)
	}
	got, _ := d.Inspect(context.Background(), st.Handle)
	if got.Running || got.ExitCode != 128+int(syscall.SIGKILL) || got.ExitedAt.IsZero() {
		t.Fatalf("after Stop: %+v, want exited by SIGKILL (137)", got)
	}
	// Idempotent.
	if err := d.Stop(context.Background(), st.Handle, "SIGTERM", time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStopGracefulAndKillsTheWholeGroup(t *testing.T) {
	d := newDriver(t)
	spec := helloSpec(t, "web-group", nil)
	// The task leaves a child behind in its group.
	spec.Command = []string{"/bin/sh", "-c", "sleep 1000 & exec ./hello"}
	st := start(t, d, spec)
	waitServing(t, st.Addr)
	pid := mustHandle(t, st.Handle).PID
	eventually(t, "two processes in the task's group", 5*time.Second, func() bool { return len(groupMembers(pid)) == 2 })
	if err := d.Stop(context.Background(), st.Handle, "TERM", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Inspect(context.Background(), st.Handle)
	if got.Running || got.ExitCode != 0 {
		t.Fatalf("after Stop: %+v, want a graceful exit 0", got)
	}
	if left := groupMembers(pid); len(left) > 0 {
		t.Fatalf("processes left in the task's group: %v", left)
	}
}

// groupMembers lists live processes whose process group is pgid.
func groupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

func TestCrashedTaskReportsExitCode(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-crash", map[string]string{"HELLO_CRASH_AFTER": "200ms"}))
	var got runtime.Status
	eventually(t, "exited with a known code", 10*time.Second, func() bool {
		got, _ = d.Inspect(context.Background(), st.Handle)
		return !got.Running && got.ExitCode != -1
	})
	if got.ExitCode != 1 || !got.ExitedAt.After(got.StartedAt) {
		t.Fatalf("crashed task: %+v, want exit code 1", got)
	}
	if list, _ := d.List(context.Background()); len(list) != 0 {
		t.Fatalf("List shows an exited task: %+v", list)
	}
}

func TestTaskSurvivesTheProcessThatStartedIt(t *testing.T) {
	h := testHome(t)
	spec := helloSpec(t, "web-orphan", nil)
	req, _ := json.Marshal(starterRequest{Home: h.Root(), Spec: spec})
	starter := exec.Command(os.Args[0])
	starter.Env = append(os.Environ(), "PROCESS_TEST_STARTER="+string(req))
	out, err := starter.Output()
	if err != nil {
		t.Fatalf("starter: %v", err)
	}
	handle := strings.TrimSpace(string(out))
	d := &Driver{Home: h} // a new driver, as in a restarted server
	t.Cleanup(func() { d.Stop(context.Background(), handle, "SIGKILL", time.Second) })

	list, err := d.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Handle != handle || !list[0].Running || list[0].Addr == "" {
		t.Fatalf("List = %+v, %v; want the task %s", list, err, handle)
	}
	waitServing(t, list[0].Addr)
	// The exit of a task adopted this way is still recorded by its shim.
	if err := d.Stop(context.Background(), handle, "SIGTERM", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Inspect(context.Background(), handle); got.Running || got.ExitCode != 0 {
		t.Fatalf("after Stop: %+v", got)
	}
}

func TestReusedPidIsNotTheTask(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-reused", nil))
	h := mustHandle(t, st.Handle)
	stale := Handle{ID: h.ID, PID: h.PID, Start: h.Start + 1}.String() // right pid, wrong start time
	got, err := d.Inspect(context.Background(), stale)
	if err != nil || got.Running || got.ExitCode != -1 {
		t.Fatalf("Inspect(stale) = %+v, %v; want not running, exit unknown", got, err)
	}
	// Stopping the stale handle must not touch the process that has the pid.
	if err := d.Stop(context.Background(), stale, "SIGKILL", time.Second); err != nil {
		t.Fatal(err)
	}
	if !alive(h.PID, h.Start) {
		t.Fatal("Stop with a stale handle killed the process now holding the pid")
	}
	if err := d.Remove(context.Background(), stale); err == nil || !strings.Contains(err.Error(), "does not name the task") {
		t.Fatalf("Remove(stale) = %v", err)
	}
}

// writeScript makes a release directory holding an executable shell script.
func writeScript(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readAll(t *testing.T, d *Driver, handle string, opts runtime.LogOptions) string {
	t.Helper()
	r, err := d.Logs(context.Background(), handle, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogsRotateAndTail(t *testing.T) {
	d := newDriver(t)
	d.LogMaxBytes, d.LogKeep = 100, 2
	dir := writeScript(t, `i=0; while [ $i -lt 40 ]; do echo "line $i"; i=$((i+1)); done; echo "to stderr" >&2; exec sleep 1000`)
	st := start(t, d, runtime.TaskSpec{ID: "logger", Service: "worker", Dir: dir, Command: []string{"./run"}})
	eventually(t, "all lines logged", 10*time.Second, func() bool {
		return readAll(t, d, st.Handle, runtime.LogOptions{Tail: 1}) == "to stderr\n"
	})
	logDir := filepath.Join(d.Home.LogsDir(), "logger")
	files, _ := logFiles(logDir)
	if len(files) != 3 {
		t.Fatalf("log files %q, want output.log.2, .1 and output.log", files)
	}
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Size() > 100 {
			t.Errorf("%s: %d bytes, over the 100-byte limit", f, fi.Size())
		}
	}
	all := readAll(t, d, st.Handle, runtime.LogOptions{})
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	// The oldest lines were rotated away; what is kept is complete and in
	// order up to the end.
	first, err := strconv.Atoi(strings.TrimPrefix(lines[0], "line "))
	if err != nil || first == 0 {
		t.Fatalf("first kept line %q: want a later line, the first ones rotated away", lines[0])
	}
	for i, l := range lines[:len(lines)-1] {
		if l != fmt.Sprintf("line %d", first+i) {
			t.Fatalf("kept line %d is %q, want %q\n%s", i, l, fmt.Sprintf("line %d", first+i), all)
		}
	}
	if lines[len(lines)-2] != "line 39" || lines[len(lines)-1] != "to stderr" {
		t.Fatalf("logs end %q", lines[len(lines)-2:])
	}
	if got := readAll(t, d, st.Handle, runtime.LogOptions{Tail: 3}); got != "line 38\nline 39\nto stderr\n" {
		t.Fatalf("Tail 3 = %q", got)
	}
	if _, err := d.Logs(context.Background(), st.Handle, runtime.LogOptions{Tail: -1}); err == nil {
		t.Fatal("Tail -1 accepted")
	}
	// Once the task is gone, its output is read, listed and removed by id.
	if err := d.Stop(context.Background(), st.Handle, "", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(context.Background(), st.Handle); err != nil {
		t.Fatal(err)
	}
	rc, err := d.KeptLogs(context.Background(), "logger", 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "line 39\nto stderr\n" {
		t.Fatalf("KeptLogs tail 2 = %q", b)
	}
	rc.Close()
	if kept, err := d.KeptOutputs(); err != nil || len(kept) != 1 || kept[0].ID != "logger" || time.Since(kept[0].Modified) > time.Minute {
		t.Fatalf("KeptOutputs = %v, %v; want logger, written just now", kept, err)
	}
	if err := d.RemoveKept("logger"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.KeptLogs(context.Background(), "logger", 0); err == nil {
		t.Fatal("KeptLogs after RemoveKept: no error")
	}
	if err := d.RemoveKept("../logs"); err == nil {
		t.Fatal("RemoveKept of a path outside the logs: no error")
	}
}

func TestLogsFollowAcrossRotations(t *testing.T) {
	d := newDriver(t)
	d.LogMaxBytes, d.LogKeep = 200, 2
	dir := writeScript(t, `i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.02; done`)
	st := start(t, d, runtime.TaskSpec{ID: "ticker", Service: "worker", Dir: dir, Command: []string{"./run"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := d.Logs(ctx, st.Handle, runtime.LogOptions{Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	next := -1
	// ~25 lines fill a 200-byte file: 80 lines cross several rotations.
	for seen := 0; seen < 80 && sc.Scan(); seen++ {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "tick "))
		if err != nil {
			t.Fatalf("line %q", sc.Text())
		}
		if next >= 0 && n != next {
			t.Fatalf("followed tick %d after %d: a line was lost or repeated", n, next-1)
		}
		next = n + 1
	}
	if next < 80 {
		t.Fatalf("follow ended early at tick %d: %v", next, sc.Err())
	}
	rotated, _ := logFiles(filepath.Join(d.Home.LogsDir(), "ticker"))
	if len(rotated) < 2 {
		t.Fatalf("no rotation happened while following: %q", rotated)
	}
	// Cancelling the context ends the stream cleanly.
	cancel()
	ended := make(chan error, 1)
	go func() {
		for sc.Scan() {
		}
		ended <- sc.Err()
	}()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("stream ended with %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end when its context was cancelled")
	}
}

func TestExecSeesTaskEnvironmentAndDirectory(t *testing.T) {
	d := newDriver(t)
	spec := helloSpec(t, "web-exec", map[string]string{"GREETING": "hi"})
	st := start(t, d, spec)
	var out, errb bytes.Buffer
	code, err := d.Exec(context.Background(), st.Handle, runtime.ExecOptions{
		Command: []string{"sh", "-c", `echo "$FERRY_TASK_ID $PORT $GREETING"; pwd; read x; echo "got $x"; echo oops >&2; exit 3`},
		Stdin:   strings.NewReader("input\n"), Stdout: &out, Stderr: &errb,
	})
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want exit code 3", code, err)
	}
	if want := fmt.Sprintf("web-exec %d hi\n%s\ngot input\n", spec.Port, helloDir); out.String() != want || errb.String() != "oops\n" {
		t.Fatalf("stdout %q (want %q), stderr %q", out.String(), want, errb.String())
	}
	// ExecOptions.Env adds to the task's environment for this command only,
	// and wins over the task's own value.
	out.Reset()
	code, err = d.Exec(context.Background(), st.Handle, runtime.ExecOptions{
		Command: []string{"sh", "-c", `echo "$FERRY_HOOK $GREETING $FERRY_TASK_ID"`},
		Env:     []string{"FERRY_HOOK=pre_stop", "GREETING=bye"}, Stdout: &out,
	})
	if err != nil || code != 0 || out.String() != "pre_stop bye web-exec\n" {
		t.Fatalf("Exec with Env = %d, %v, stdout %q", code, err, out.String())
	}
	// A command relative to the release directory: a second hello, in the
	// task's environment, finds the task's PORT taken and exits 1.
	waitServing(t, st.Addr)
	errb.Reset()
	code, err = d.Exec(context.Background(), st.Handle, runtime.ExecOptions{Command: []string{"./hello"}, Stderr: &errb})
	if err != nil || code != 1 || !strings.Contains(errb.String(), fmt.Sprintf(":%d: bind: address already in use", spec.Port)) {
		t.Fatalf("Exec ./hello = %d, %v, stderr %q", code, err, errb.String())
	}
	if _, err := d.Exec(context.Background(), st.Handle, runtime.ExecOptions{Command: []string{"./nope"}}); err == nil ||
		err.Error() != "exec: ./nope: not found in "+helloDir {
		t.Fatalf("Exec ./nope: %v", err)
	}
}

func TestExecWithTTY(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-tty", nil))
	var out bytes.Buffer
	code, err := d.Exec(context.Background(), st.Handle, runtime.ExecOptions{
		Command: []string{"sh", "-c", `test -t 0 && test -t 1 && echo "tty $(tty)"; exit 5`}, TTY: true, Stdout: &out,
	})
	if err != nil || code != 5 {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if !strings.HasPrefix(out.String(), "tty /dev/pts/") {
		t.Fatalf("output %q: the command did not run on a terminal", out.String())
	}
}

func TestExecInStoppedTaskFails(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-gone", nil))
	d.Stop(context.Background(), st.Handle, "", time.Second)
	if _, err := d.Exec(context.Background(), st.Handle, runtime.ExecOptions{Command: []string{"true"}}); err == nil ||
		!strings.Contains(err.Error(), "not running") {
		t.Fatalf("Exec in a stopped task: %v", err)
	}
}

func TestLimitsAreApplied(t *testing.T) {
	d := newDriver(t)
	spec := helloSpec(t, "web-limited", nil)
	spec.Limits = runtime.Limits{NoFile: 1234, Procs: 4321, MemoryBytes: 1 << 30}
	st := start(t, d, spec)
	waitServing(t, st.Addr) // a Go program runs under these limits
	pid := mustHandle(t, st.Handle).PID
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	limits := map[string][]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if len(l) > 26 {
			limits[strings.TrimSpace(l[:26])] = strings.Fields(l[26:])
		}
	}
	for name, want := range map[string]string{"Max open files": "1234", "Max processes": "4321", "Max data size": "1073741824"} {
		if got := limits[name]; len(got) < 2 || got[0] != want || got[1] != want {
			t.Errorf("%s = %v, want soft and hard %s", name, got, want)
		}
	}
	// cgroup v2 where the machine allows it, else a recorded reason.
	var rec taskRecord
	readJSON(filepath.Join(d.stateDir("web-limited"), taskFile), &rec)
	switch {
	case rec.Cgroup != "":
		procs, _ := os.ReadFile(filepath.Join(rec.Cgroup, "cgroup.procs"))
		if !strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(pid)+"\n") {
			t.Errorf("task %d not in its cgroup %s: %q", pid, rec.Cgroup, procs)
		}
		if mem, _ := os.ReadFile(filepath.Join(rec.Cgroup, "memory.max")); strings.TrimSpace(string(mem)) != "1073741824" {
			t.Errorf("memory.max = %q", mem)
		}
	case rec.CgroupSkipped == "":
		t.Error("no cgroup and no reason recorded")
	default:
		t.Logf("cgroup skipped: %s", rec.CgroupSkipped)
	}
}

func TestStartRejectsBadSpecsAndLeavesNothing(t *testing.T) {
	d := newDriver(t)
	good := helloSpec(t, "web-bad", nil)
	tests := []struct {
		name string
		edit func(*runtime.TaskSpec)
		want string
	}{
		{"missing command", func(s *runtime.TaskSpec) { s.Command = []string{"./nope"} },
			"services.web.command: ./nope: not found in " + helloDir},
		{"not on PATH", func(s *runtime.TaskSpec) { s.Command = []string{"no-such-tool"} },
			"services.web.command: no-such-tool: not found in the task's PATH"},
		{"no command", func(s *runtime.TaskSpec) { s.Command = nil }, "services.web.command: empty"},
		{"bad id", func(s *runtime.TaskSpec) { s.ID = "../etc" }, `task id "../etc": character '/' not allowed`},
		{"no release dir", func(s *runtime.TaskSpec) { s.Dir = "/nonexistent/release" },
			`release directory "/nonexistent/release": not an existing absolute directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := good
			tt.edit(&spec)
			_, err := d.Start(context.Background(), spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(d.tasksDir()); len(entries) != 0 {
				t.Fatalf("a failed Start left state behind: %v", entries)
			}
		})
	}
	st := start(t, d, good)
	if _, err := d.Start(context.Background(), good); err == nil || !strings.Contains(err.Error(), "task web-bad already exists") {
		t.Fatalf("second Start with the same id: %v", err)
	}
	if got, _ := d.Inspect(context.Background(), st.Handle); !got.Running {
		t.Fatal("the duplicate Start disturbed the running task")
	}
}

func TestRemove(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-rm", nil))
	if err := d.Remove(context.Background(), st.Handle); err == nil || !strings.Contains(err.Error(), "it is running") {
		t.Fatalf("Remove of a running task: %v", err)
	}
	if err := d.Stop(context.Background(), st.Handle, "SIGTERM", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(context.Background(), st.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.stateDir("web-rm")); !os.IsNotExist(err) {
		t.Fatalf("state dir still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Home.LogsDir(), "web-rm", logName)); err != nil {
		t.Fatalf("logs removed with the task: %v", err)
	}
	if err := d.Remove(context.Background(), st.Handle); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if got, _ := d.Inspect(context.Background(), st.Handle); got.Running || got.ExitCode != -1 {
		t.Fatalf("Inspect after Remove: %+v", got)
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
		err  bool
	}{
		{"", syscall.SIGTERM, false},
		{"SIGTERM", syscall.SIGTERM, false},
		{"term", syscall.SIGTERM, false},
		{"SIGQUIT", syscall.SIGQUIT, false},
		{"KILL", syscall.SIGKILL, false},
		{"SIGNOPE", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSignal(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// Inspect reads a task's files once per handle: a reconciler inspects every
// task on every pass, and a handle's spec and record never change. Liveness
// is still read every time.
func TestInspectReadsATasksFilesOnce(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-cache", nil))
	waitServing(t, st.Addr) // its SIGTERM handler is in place
	ctx := context.Background()
	first, err := d.Inspect(ctx, st.Handle)
	if err != nil || !first.Running || first.Addr == "" || first.StartedAt.IsZero() {
		t.Fatalf("first Inspect: %+v %v", first, err)
	}
	// Were the files read again, the task would now be unknown.
	os.Rename(filepath.Join(d.stateDir("web-cache"), taskFile), filepath.Join(d.stateDir("web-cache"), taskFile+".aside"))
	again, err := d.Inspect(ctx, st.Handle)
	if err != nil || again.Addr != first.Addr || !again.StartedAt.Equal(first.StartedAt) || !again.Running {
		t.Fatalf("second Inspect: %+v %v, want %+v", again, err, first)
	}
	os.Rename(filepath.Join(d.stateDir("web-cache"), taskFile+".aside"), filepath.Join(d.stateDir("web-cache"), taskFile))
	if err := d.Stop(ctx, st.Handle, "SIGTERM", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if after, _ := d.Inspect(ctx, st.Handle); after.Running || after.ExitCode != 0 {
		t.Fatalf("after Stop: %+v, want not running, exit 0 (liveness and exit are read each time)", after)
	}
}
