package daemon_test

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/daemon"
)

// TestHandoverRecordsTheSuccessor: after Handover, Running and Stop follow
// the successor, and a Handover from a pid that is not the recorded daemon
// changes nothing.
func TestHandoverRecordsTheSuccessor(t *testing.T) {
	h, spec := setup(t)
	old, err := daemon.Start(context.Background(), spec("serve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(old, syscall.SIGKILL) })
	succ := exec.Command("sleep", "30")
	if err := succ.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { succ.Process.Kill(); succ.Wait() })
	waited := make(chan error, 1)
	go func() { waited <- succ.Wait() }()

	if err := daemon.Handover(h, "server", succ.Process.Pid+1_000_000, succ.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if pid, ok := daemon.Running(h, "server"); !ok || pid != old {
		t.Fatalf("a hand-over from another pid changed the record: %d %v", pid, ok)
	}
	if err := daemon.Handover(h, "server", old, succ.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if pid, ok := daemon.Running(h, "server"); !ok || pid != succ.Process.Pid {
		t.Fatalf("Running after hand-over: %d %v, want %d", pid, ok, succ.Process.Pid)
	}
	if pid, err := daemon.Stop(h, "server", 5*time.Second); err != nil || pid != succ.Process.Pid {
		t.Fatalf("Stop after hand-over: %d %v", pid, err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not stop the successor")
	}
}
