package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/runtime/process"
)

// TestProcessDriverSupervisesWithTheRealShim runs examples/hello under the
// process driver with the real binary's hidden `ferry shim` as supervisor.
func TestProcessDriverSupervisesWithTheRealShim(t *testing.T) {
	release := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(release, "hello"), "./examples/hello")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hello: %v\n%s", err, out)
	}
	h, err := home.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	noteTmpfsState(h.Root())
	d := &process.Driver{Home: h, Shim: ferryBin}
	var ports runtime.PortAllocator
	port, err := ports.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := d.Start(ctx, runtime.TaskSpec{ID: "web-1-e2e", App: "hello", Environment: "production", Service: "web",
		Revision: 1, Dir: release, Command: []string{"./hello"}, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(ctx, st.Handle, "SIGKILL", time.Second) })

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + st.Addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hello not serving on %s: %v", st.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The task's parent is `ferry shim run <state-dir>`.
	ph, _ := process.ParseHandle(st.Handle)
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", ph.PID))
	var ppid int
	fmt.Sscanf(string(stat[bytes.LastIndexByte(stat, ')')+2:]), "%c %d", new(byte), &ppid)
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid))
	if args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); len(args) < 3 || args[0] != ferryBin || args[1] != "shim" || args[2] != "run" {
		t.Fatalf("task's parent runs %q, want %s shim run …", args, ferryBin)
	}
	if err := d.Stop(ctx, st.Handle, "SIGTERM", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Inspect(ctx, st.Handle); got.Running || got.ExitCode != 0 {
		t.Fatalf("after Stop: %+v, want exited 0", got)
	}
}
