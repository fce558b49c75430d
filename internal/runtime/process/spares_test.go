package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
)

// idleSpares is the pool's idle spares (a copy).
func idleSpares(d *Driver) []*spare {
	p := d.spares()
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*spare(nil), p.idle...)
}

func shimOf(t *testing.T, taskPID int) (pid int, argv []string, cwd string) {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", taskPID))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Sscanf(string(stat[bytes.LastIndexByte(stat, ')')+2:]), "%c %d", new(byte), &pid)
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	cwd, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return pid, strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"), cwd
}

// A driver with spares starts the next task under a shim it started ahead of
// need; that task runs, serves, is stopped and records its exit like any.
func TestSpareShimSupervisesTheNextTask(t *testing.T) {
	d := newDriver(t)
	d.Spares = 4
	t.Cleanup(func() { d.Close() })
	first := start(t, d, helloSpec(t, "web-1", nil))
	waitServing(t, first.Addr)
	eventually(t, "one spare ready", 10*time.Second, func() bool { return len(idleSpares(d)) == 1 })
	sp := idleSpares(d)[0]

	second := start(t, d, helloSpec(t, "web-2", map[string]string{"HELLO_VERSION": "v2"}))
	if got := waitServing(t, second.Addr)["version"]; got != "v2" {
		t.Fatalf("second task serves version %q, want v2", got)
	}
	h, _ := ParseHandle(second.Handle)
	shimPID, argv, cwd := shimOf(t, h.PID)
	if shimPID != sp.cmd.Process.Pid || argv[len(argv)-1] != "spare" {
		t.Fatalf("task's shim is pid %d %q, want the spare %d", shimPID, argv, sp.cmd.Process.Pid)
	}
	if cwd != d.stateDir("web-2") {
		t.Fatalf("spare shim's cwd is %q, want the task's state dir %q", cwd, d.stateDir("web-2"))
	}
	ctx := context.Background()
	if err := d.Stop(ctx, second.Handle, "SIGTERM", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Inspect(ctx, second.Handle); st.Running || st.ExitCode != 0 {
		t.Fatalf("after Stop: %+v, want exited 0", st)
	}
	logs := readAll(t, d, second.Handle, runtime.LogOptions{})
	if !strings.Contains(logs, "listening") {
		t.Fatalf("the spare-supervised task's output was not logged: %q", logs)
	}
}

// Demand sets the pool's size: after a burst of three Starts, three spares
// are kept; Close ends every idle spare.
func TestSparesFollowDemandAndEndOnClose(t *testing.T) {
	d := newDriver(t)
	d.Spares = 8
	var wg sync.WaitGroup
	for i := range 3 {
		spec := helloSpec(t, fmt.Sprintf("web-%d", i), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Start(context.Background(), spec); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range 3 {
			d.Stop(context.Background(), handleOf(t, d, fmt.Sprintf("web-%d", i)), "SIGKILL", time.Second)
		}
	})
	eventually(t, "three spares ready", 10*time.Second, func() bool { return len(idleSpares(d)) == 3 })
	spares := idleSpares(d)
	d.Close()
	for _, s := range spares {
		if !waitExit(s.cmd.Process.Pid, 5*time.Second) {
			t.Fatalf("spare %d still runs after Close", s.cmd.Process.Pid)
		}
	}
	if n := len(idleSpares(d)); n != 0 {
		t.Fatalf("%d spares idle after Close", n)
	}
}

// A spare that died while idle costs nothing but its start-up: Start
// notices at once and starts the shim cold.
func TestDeadSpareFallsBackToColdStart(t *testing.T) {
	d := newDriver(t)
	d.Spares = 1
	t.Cleanup(func() { d.Close() })
	waitServing(t, start(t, d, helloSpec(t, "web-1", nil)).Addr)
	eventually(t, "a spare ready", 10*time.Second, func() bool { return len(idleSpares(d)) == 1 })
	sp := idleSpares(d)[0]
	sp.cmd.Process.Kill()
	// Reaped, not merely a zombie: a zombie leader's other threads may
	// still hold its end of the control pipe.
	if !waitReaped(sp.cmd.Process.Pid, 5*time.Second) {
		t.Fatal("killed spare still runs")
	}
	st := start(t, d, helloSpec(t, "web-2", nil))
	waitServing(t, st.Addr)
	h, _ := ParseHandle(st.Handle)
	if _, argv, _ := shimOf(t, h.PID); argv[len(argv)-2] != "run" {
		t.Fatalf("task's shim runs %q, want a cold `shim run`", argv)
	}
}

func handleOf(t *testing.T, d *Driver, id string) string {
	var rec taskRecord
	if err := readJSON(d.stateDir(id)+"/"+taskFile, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.handle(id).String()
}

// waitReaped waits until pid, a child of this process reaped by its Wait
// goroutine, no longer exists at all.
func waitReaped(pid int, within time.Duration) bool {
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// waitExit waits for a child of this process (the spare was started here
// and is reaped by its Wait goroutine) to be gone.
func waitExit(pid int, within time.Duration) bool {
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
