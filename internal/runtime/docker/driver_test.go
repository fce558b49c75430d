package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/ferrycd/ferry/internal/runtime"
)

var ports runtime.PortAllocator

func newDriver(t *testing.T) *Driver {
	t.Helper()
	d := &Driver{Instance: testInstance, LogDir: t.TempDir()}
	t.Cleanup(func() { d.Close() })
	return d
}

func helloSpec(t *testing.T, id string, env map[string]string) runtime.TaskSpec {
	t.Helper()
	port, err := ports.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ports.Release(port) })
	return runtime.TaskSpec{ID: id + "-" + randHex(3), App: "shop", Environment: "staging", Service: "web", Revision: 3,
		Image: helloImage, Env: env, Port: port}
}

// probeSpec runs the probe program with steps as the task's command.
func probeSpec(id string, steps ...string) runtime.TaskSpec {
	return runtime.TaskSpec{ID: id + "-" + randHex(3), App: "shop", Environment: "staging", Service: "worker", Revision: 1,
		Image: helloImage, Command: append([]string{"/probe"}, steps...)}
}

// start starts spec and removes the task when the test ends.
func start(t *testing.T, d *Driver, spec runtime.TaskSpec) runtime.Status {
	t.Helper()
	st, err := d.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop(context.Background(), st.Handle, "SIGKILL", time.Second)
		d.Remove(context.Background(), st.Handle)
	})
	return st
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %s: still not %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitServing(t *testing.T, addr string) map[string]string {
	t.Helper()
	var got map[string]string
	eventually(t, "serving on "+addr, 15*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		got = nil
		return json.NewDecoder(resp.Body).Decode(&got) == nil
	})
	return got
}

func engineInspect(t *testing.T, d *Driver, handle string) container.InspectResponse {
	t.Helper()
	cli, err := d.conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := cli.ContainerInspect(context.Background(), handle, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Container
}

func execOut(t *testing.T, d *Driver, handle string, steps ...string) string {
	t.Helper()
	var out bytes.Buffer
	code, err := d.Exec(context.Background(), handle, runtime.ExecOptions{Command: append([]string{"/probe"}, steps...), Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("exec %v = %d, %v", steps, code, err)
	}
	return out.String()
}

func TestStartServesOnLoopbackWithFerryEnvironment(t *testing.T) {
	d := newDriver(t)
	spec := helloSpec(t, "web-3-a1", map[string]string{"GREETING": "hi", "PORT": "1", "FERRY_APP": "forged"})
	spec.Limits = runtime.Limits{MemoryBytes: 64 << 20, CPU: 0.5, NoFile: 1234}
	spec.StopSignal, spec.StopTimeout = "int", 1500*time.Millisecond
	st := start(t, d, spec)
	if !st.Running || st.ID != spec.ID || st.Addr != "127.0.0.1:"+strconv.Itoa(spec.Port) || st.StartedAt.IsZero() || len(st.Handle) != 64 {
		t.Fatalf("Start = %+v", st)
	}
	answer := waitServing(t, st.Addr)
	if answer["task"] != spec.ID || answer["revision"] != "3" {
		t.Fatalf("task answered %v", answer)
	}
	env := execOut(t, d, st.Handle, "env:FERRY_APP", "env:FERRY_SERVICE", "env:FERRY_ENVIRONMENT", "env:FERRY_REVISION",
		"env:FERRY_TASK_ID", "env:PORT", "env:GREETING")
	want := "FERRY_APP=shop\nFERRY_SERVICE=web\nFERRY_ENVIRONMENT=staging\nFERRY_REVISION=3\nFERRY_TASK_ID=" + spec.ID +
		"\nPORT=" + strconv.Itoa(spec.Port) + "\nGREETING=hi\n"
	if env != want {
		t.Errorf("task env:\n%s\nwant:\n%s", env, want)
	}

	c := engineInspect(t, d, st.Handle)
	for k, v := range map[string]string{LabelApp: "shop", LabelEnvironment: "staging", LabelService: "web", LabelRevision: "3",
		LabelTaskID: spec.ID, LabelInstance: testInstance} {
		if c.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Config.Labels[k], v)
		}
	}
	if ep, ok := c.NetworkSettings.Networks["ferry"]; !ok || string(c.HostConfig.NetworkMode) != ep.NetworkID {
		t.Errorf("networks %v, mode %q: want the ferry network", c.NetworkSettings.Networks, c.HostConfig.NetworkMode)
	}
	var published []string
	for p, bs := range c.NetworkSettings.Ports {
		for _, b := range bs {
			published = append(published, p.String()+"->"+b.HostIP.String()+":"+b.HostPort)
		}
	}
	if wantPub := strconv.Itoa(spec.Port) + "/tcp->127.0.0.1:" + strconv.Itoa(spec.Port); len(published) != 1 || published[0] != wantPub {
		t.Errorf("published %v, want only %s", published, wantPub)
	}
	h := c.HostConfig
	if h.RestartPolicy.Name != container.RestartPolicyDisabled || h.Memory != 64<<20 || h.NanoCPUs != 5e8 ||
		len(h.Ulimits) != 1 || h.Ulimits[0].Name != "nofile" || h.Ulimits[0].Hard != 1234 {
		t.Errorf("host config: restart %q, memory %d, cpus %d, ulimits %v", h.RestartPolicy.Name, h.Memory, h.NanoCPUs, h.Ulimits)
	}
	if c.Config.StopSignal != "SIGINT" || c.Config.StopTimeout == nil || *c.Config.StopTimeout != 2 {
		t.Errorf("stop signal %q, timeout %v", c.Config.StopSignal, c.Config.StopTimeout)
	}
	if c.Config.Healthcheck == nil || len(c.Config.Healthcheck.Test) != 1 || c.Config.Healthcheck.Test[0] != "NONE" {
		t.Errorf("healthcheck %+v: want Docker's disabled", c.Config.Healthcheck)
	}
}

func TestStopEscalatesToSIGKILLAfterTimeout(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-stubborn", map[string]string{"HELLO_IGNORE_SIGTERM": "60s"}))
	waitServing(t, st.Addr)
	begin := time.Now()
	if err := d.Stop(context.Background(), st.Handle, "SIGTERM", 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 700*time.Millisecond || took > 8*time.Second {
		t.Fatalf("Stop took %s, want the 700ms timeout then a kill", took)
	}
	got, err := d.Inspect(context.Background(), st.Handle)
	if err != nil || got.Running || got.ExitCode != 137 || got.ExitedAt.IsZero() {
		t.Fatalf("after Stop: %+v, %v; want exited by SIGKILL (137)", got, err)
	}
	if err := d.Stop(context.Background(), st.Handle, "SIGTERM", time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStopSendsTheStopSignal(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, probeSpec("worker-sig", "print:ready", "wait"))
	eventually(t, "ready", 10*time.Second, func() bool { return readLogs(t, d, st.Handle, runtime.LogOptions{}) == "ready\n" })
	begin := time.Now()
	if err := d.Stop(context.Background(), st.Handle, "QUIT", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Inspect(context.Background(), st.Handle)
	// probe exits with the number of the signal it got: SIGQUIT is 3.
	if got.Running || got.ExitCode != 3 || time.Since(begin) > 10*time.Second {
		t.Fatalf("after Stop(QUIT): %+v after %s; want a prompt exit with code 3", got, time.Since(begin))
	}
	if err := d.Stop(context.Background(), st.Handle, "SIGNOPE", time.Second); err == nil || !strings.Contains(err.Error(), `"SIGNOPE": not a signal name`) {
		t.Fatalf("Stop with a bad signal: %v", err)
	}
}

func TestCrashedContainerReportsExitCode(t *testing.T) {
	d := newDriver(t)
	st := start(t, d, helloSpec(t, "web-crash", map[string]string{"HELLO_CRASH_AFTER": "300ms"}))
	var got runtime.Status
	eventually(t, "exited with a known code", 15*time.Second, func() bool {
		got, _ = d.Inspect(context.Background(), st.Handle)
		return !got.Running && got.ExitCode != -1
	})
	if got.ExitCode != 1 || !got.ExitedAt.After(got.StartedAt) || got.ID != st.ID {
		t.Fatalf("crashed task: %+v, want exit code 1", got)
	}
	for _, s := range mustList(t, d) {
		if s.Handle == st.Handle {
			t.Fatalf("List shows an exited task: %+v", s)
		}
	}
	if out := readLogs(t, d, st.Handle, runtime.LogOptions{Tail: 1}); !strings.Contains(out, "crashing on purpose") {
		t.Fatalf("last log line %q", out)
	}
}

func mustList(t *testing.T, d *Driver) []runtime.Status {
	t.Helper()
	list, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestListFindsTasksByLabelFromANewDriver(t *testing.T) {
	d := newDriver(t)
	a := start(t, d, helloSpec(t, "web-adopt-a", nil))
	b := start(t, d, probeSpec("worker-adopt-b", "wait"))
	other := &Driver{Instance: testInstance + "-other"} // another installation on the same engine
	defer other.Close()
	c := start(t, other, probeSpec("worker-other", "wait"))

	fresh := &Driver{Instance: testInstance} // as in a restarted server
	defer fresh.Close()
	seen := map[string]runtime.Status{}
	for _, s := range mustList(t, fresh) {
		seen[s.Handle] = s
	}
	if _, ok := seen[c.Handle]; ok {
		t.Fatal("List reports another installation's container")
	}
	ga, gb := seen[a.Handle], seen[b.Handle]
	if ga.ID != a.ID || !ga.Running || ga.Addr != a.Addr || gb.ID != b.ID || gb.Addr != "" {
		t.Fatalf("List = %+v; want %s at %s and %s without a port", seen, a.ID, a.Addr, b.ID)
	}
	waitServing(t, ga.Addr)
	if err := fresh.Stop(context.Background(), ga.Handle, "", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := fresh.Inspect(context.Background(), ga.Handle); got.Running || got.ExitCode != 0 {
		t.Fatalf("adopted task after Stop: %+v, want a graceful exit 0", got)
	}
	// A handle of another installation is not ours: not running, untouched.
	if got, err := fresh.Inspect(context.Background(), c.Handle); err != nil || got.Running || got.ExitCode != -1 {
		t.Fatalf("Inspect(foreign) = %+v, %v", got, err)
	}
	if err := fresh.Stop(context.Background(), c.Handle, "SIGKILL", time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := other.Inspect(context.Background(), c.Handle); !got.Running {
		t.Fatal("Stop through another installation's driver killed the container")
	}
	if err := fresh.Remove(context.Background(), c.Handle); err == nil || !strings.Contains(err.Error(), "not a task of this ferry installation") {
		t.Fatalf("Remove(foreign) = %v", err)
	}
}

func readLogs(t *testing.T, d *Driver, handle string, opts runtime.LogOptions) string {
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

func TestLogsDemultiplexTailFollowAndOutliveTheContainer(t *testing.T) {
	d := newDriver(t)
	// The engine reads stdout and stderr apart: lines written a moment
	// apart keep their order.
	st := start(t, d, probeSpec("worker-logs", "print:one", "sleep:200ms", "stderr:two", "sleep:200ms", "print:three", "wait"))
	eventually(t, "three lines logged", 10*time.Second, func() bool {
		return readLogs(t, d, st.Handle, runtime.LogOptions{}) == "one\ntwo\nthree\n"
	})
	if got := readLogs(t, d, st.Handle, runtime.LogOptions{Tail: 2}); got != "two\nthree\n" {
		t.Fatalf("Tail 2 = %q", got)
	}
	if _, err := d.Logs(context.Background(), st.Handle, runtime.LogOptions{Tail: -1}); err == nil {
		t.Fatal("Tail -1 accepted")
	}
	// Follow streams until the container stops.
	r, err := d.Logs(context.Background(), st.Handle, runtime.LogOptions{Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "three\n" {
		t.Fatalf("followed %q, %v", buf, err)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(r); ended <- err }()
	if err := d.Stop(context.Background(), st.Handle, "", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("follow ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end when the container stopped")
	}
	// Cancelling a follow ends it too.
	st2 := start(t, d, probeSpec("worker-follow", "print:x", "wait"))
	ctx, cancel := context.WithCancel(context.Background())
	r2, err := d.Logs(ctx, st2.Handle, runtime.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, err := io.ReadAll(r2); ended <- err }()
	cancel()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("cancelled follow ended with %v, want EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end when its context was cancelled")
	}
	// The output outlives the removed container.
	if err := d.Remove(context.Background(), st.Handle); err != nil {
		t.Fatal(err)
	}
	if got := readLogs(t, d, st.Handle, runtime.LogOptions{Tail: 1}); got != "three\n" {
		t.Fatalf("kept logs Tail 1 = %q", got)
	}
	// By task id too, listed, and removed with the handle's link.
	rc, err := d.KeptLogs(context.Background(), st.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "two\nthree\n" {
		t.Fatalf("KeptLogs tail 2 = %q", b)
	}
	rc.Close()
	kept, err := d.KeptOutputs()
	if err != nil || !slices.ContainsFunc(kept, func(k runtime.KeptOutput) bool { return k.ID == st.ID }) {
		t.Fatalf("KeptOutputs = %v, %v; want %s among them", kept, err, st.ID)
	}
	if err := d.RemoveKept(st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.KeptLogs(context.Background(), st.ID, 0); err == nil {
		t.Fatal("KeptLogs after RemoveKept: no error")
	}
	if _, err := d.Logs(context.Background(), st.Handle, runtime.LogOptions{}); err == nil {
		t.Fatal("Logs by handle after RemoveKept: no error, so its link survived")
	}
	if err := d.RemoveKept("../escape"); err == nil {
		t.Fatal("RemoveKept of a path outside the logs: no error")
	}
}

func TestExecRunsInTheContainer(t *testing.T) {
	d := newDriver(t)
	spec := helloSpec(t, "web-exec", map[string]string{"GREETING": "hi"})
	st := start(t, d, spec)
	var out, errb bytes.Buffer
	code, err := d.Exec(context.Background(), st.Handle, runtime.ExecOptions{
		Command: []string{"/probe", "env:FERRY_TASK_ID", "env:GREETING", "pwd", "tty", "cat", "stderr:oops", "exit:3"},
		Stdin:   strings.NewReader("input\n"), Stdout: &out, Stderr: &errb,
	})
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want exit code 3", code, err)
	}
	if want := "FERRY_TASK_ID=" + spec.ID + "\nGREETING=hi\n/srv\nnotty\ninput\n"; out.String() != want || errb.String() != "oops\n" {
		t.Fatalf("stdout %q (want %q), stderr %q", out.String(), want, errb.String())
	}
	// A second hello in the task's environment finds its PORT taken.
	waitServing(t, st.Addr)
	errb.Reset()
	code, err = d.Exec(context.Background(), st.Handle, runtime.ExecOptions{Command: []string{"/hello"}, Stderr: &errb})
	if err != nil || code != 1 || !strings.Contains(errb.String(), ":"+strconv.Itoa(spec.Port)+": bind: address already in use") {
		t.Fatalf("Exec /hello = %d, %v, stderr %q", code, err, errb.String())
	}
	out.Reset()
	code, err = d.Exec(context.Background(), st.Handle, runtime.ExecOptions{Command: []string{"/probe", "tty", "exit:5"}, TTY: true, Stdout: &out})
	if err != nil || code != 5 || !strings.HasPrefix(out.String(), "tty") {
		t.Fatalf("Exec with TTY = %d, %v, output %q", code, err, out.String())
	}
	if err := d.Stop(context.Background(), st.Handle, "", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(context.Background(), st.Handle, runtime.ExecOptions{Command: []string{"/probe"}}); err == nil ||
		!strings.Contains(err.Error(), "not running") {
		t.Fatalf("Exec in a stopped task: %v", err)
	}
}

func TestUnreachableEngineIsAClearError(t *testing.T) {
	d := &Driver{Host: "unix:///nonexistent/docker.sock", Instance: testInstance}
	want := "cannot reach the Docker engine at unix:///nonexistent/docker.sock: is it running?"
	if _, err := d.Start(context.Background(), runtime.TaskSpec{ID: "x", Image: helloImage}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Start: %v", err)
	}
	if _, err := d.List(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("List: %v", err)
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	env := &Driver{Instance: testInstance}
	if _, err := env.ImageExists(context.Background(), "x"); err == nil ||
		!strings.Contains(err.Error(), "cannot reach the Docker engine at tcp://127.0.0.1:1: is it running?") {
		t.Fatalf("ImageExists via DOCKER_HOST: %v", err)
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
		{"image not on the engine", func(s *runtime.TaskSpec) { s.Image = "ferry-test/absent:r1" },
			"image ferry-test/absent:r1 is not on the Docker engine (ferry pulls nothing"},
		{"no image", func(s *runtime.TaskSpec) { s.Image = "" }, "no image to run (services.web.image)"},
		{"bad id", func(s *runtime.TaskSpec) { s.ID = "../etc" }, `task id "../etc": character '.' not allowed`},
		{"bad stop signal", func(s *runtime.TaskSpec) { s.StopSignal = "SIGNOPE" }, `services.web.stop_signal: "SIGNOPE": not a signal name`},
		{"missing command", func(s *runtime.TaskSpec) { s.Command = []string{"/nope"} }, "starting task web-bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := good
			tt.edit(&spec)
			_, err := d.Start(context.Background(), spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if n := containersOf(t, d, good.ID); n != 0 {
				t.Fatalf("a failed Start left %d containers behind", n)
			}
		})
	}
	st := start(t, d, good)
	if _, err := d.Start(context.Background(), good); err == nil || !strings.Contains(err.Error(), "task "+good.ID+" already exists") {
		t.Fatalf("second Start with the same id: %v", err)
	}
	if got, _ := d.Inspect(context.Background(), st.Handle); !got.Running {
		t.Fatal("the duplicate Start disturbed the running task")
	}
}

// containersOf counts the containers, running or not, of task id.
func containersOf(t *testing.T, d *Driver, id string) int {
	t.Helper()
	cli, err := d.conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", LabelTaskID+"="+id)})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Items)
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
	if n := containersOf(t, d, st.ID); n != 0 {
		t.Fatalf("%d containers left after Remove", n)
	}
	if err := d.Remove(context.Background(), st.Handle); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if got, err := d.Inspect(context.Background(), st.Handle); err != nil || got.Running || got.ExitCode != -1 {
		t.Fatalf("Inspect after Remove: %+v, %v", got, err)
	}
	if _, err := d.Inspect(context.Background(), "../x"); err == nil {
		t.Fatal("a malformed handle was accepted")
	}
}
