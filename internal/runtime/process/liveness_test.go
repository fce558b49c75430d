package process

import (
	"os/exec"
	"testing"
	"time"
)

// startSleep starts a child process and returns its handle as the driver
// would record it.
func startSleep(t *testing.T) (*exec.Cmd, Handle) {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	st, err := readStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, Handle{ID: "t", PID: cmd.Process.Pid, Start: st.Start}
}

func TestLivenessFollowsTheProcess(t *testing.T) {
	cmd, h := startSleep(t)
	l := newLiveness(h)
	defer l.close()
	for range 3 {
		if !l.running() {
			t.Fatal("a running process reported exited")
		}
	}
	if l.fd < 0 {
		t.Fatal("no pidfd was opened for a running process")
	}
	cmd.Process.Kill()
	// Not reaped yet: a zombie has exited, as alive says.
	deadline := time.Now().Add(5 * time.Second)
	for l.running() {
		if time.Now().After(deadline) {
			t.Fatal("a killed process still reported running after 5s")
		}
		time.Sleep(time.Millisecond)
	}
	if l.fd >= 0 {
		t.Error("the pidfd of an exited process was kept open")
	}
	cmd.Wait()
	if l.running() {
		t.Error("an exit was forgotten")
	}
}

// A handle whose start time is not the process's names another process (a
// reused pid): it is not running, and no fd is kept for it.
func TestLivenessRefusesAReusedPID(t *testing.T) {
	_, h := startSleep(t)
	h.Start++
	l := newLiveness(h)
	if l.running() {
		t.Fatal("a pid with another start time reported running")
	}
	if l.fd >= 0 {
		t.Error("a pidfd was kept for another process")
	}
}

func TestLivenessOfAGonePID(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	l := newLiveness(Handle{ID: "t", PID: cmd.Process.Pid, Start: 1})
	if l.running() {
		t.Fatal("a reaped process reported running")
	}
}

// BenchmarkLiveness is one check of a running task: the pidfd poll the
// reconciler pays per task per pass, against reading /proc as alive does.
func BenchmarkLiveness(b *testing.B) {
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	st, err := readStat(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("pidfd", func(b *testing.B) {
		l := newLiveness(Handle{ID: "t", PID: cmd.Process.Pid, Start: st.Start})
		defer l.close()
		for b.Loop() {
			if !l.running() {
				b.Fatal("exited")
			}
		}
	})
	b.Run("proc", func(b *testing.B) {
		for b.Loop() {
			if !alive(cmd.Process.Pid, st.Start) {
				b.Fatal("exited")
			}
		}
	})
}
