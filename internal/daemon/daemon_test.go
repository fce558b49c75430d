package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
)

// The test binary doubles as the daemon: started with FERRY_DAEMON_HELPER
// it behaves as the mode in its arguments says instead of running tests.
func TestMain(m *testing.M) {
	if os.Getenv("FERRY_DAEMON_HELPER") == "1" {
		helper(os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

func helper(args []string) {
	mode := args[len(args)-1]
	if mode == "die" {
		fmt.Println("loading config: bad value for listen")
		os.Exit(2)
	}
	if mode == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	}
	ln, err := net.Listen("unix", filepath.Join(os.Getenv("FERRY_HOME"), "d.sock"))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer ln.Close()
	fmt.Println("listening")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}

func setup(t *testing.T) (home.Dir, func(mode string) daemon.Spec) {
	dir, err := os.MkdirTemp("", "fy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h, _ := home.New(dir)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return h, func(mode string) daemon.Spec {
		return daemon.Spec{
			Name: "server", Args: []string{"helper", mode}, Home: h, Path: exe,
			Env:     []string{"FERRY_DAEMON_HELPER=1"},
			Timeout: 5 * time.Second,
			Ready: func(ctx context.Context) error {
				var d net.Dialer
				c, err := d.DialContext(ctx, "unix", filepath.Join(h.Root(), "d.sock"))
				if err == nil {
					c.Close()
				}
				return err
			},
		}
	}
}

func TestStartRunningStop(t *testing.T) {
	h, spec := setup(t)
	pid, err := daemon.Start(context.Background(), spec("serve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Stop(h, "server", time.Second) })
	if got, ok := daemon.Running(h, "server"); !ok || got != pid {
		t.Fatalf("Running: %d %v, want %d", got, ok, pid)
	}
	if sid := session(t, pid); sid != pid {
		t.Fatalf("daemon session %d, want its own (%d)", sid, pid)
	}
	if fi, err := os.Stat(h.DaemonPidFile("server")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pid file: %v %v", fi, err)
	}
	if _, err := daemon.Start(context.Background(), spec("serve")); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("already running (pid %d)", pid)) {
		t.Fatalf("second start: %v", err)
	}
	if b, _ := os.ReadFile(h.DaemonLog("server")); !strings.Contains(string(b), "listening") {
		t.Fatalf("daemon output not in its log: %q", b)
	}

	stopped, err := daemon.Stop(h, "server", 5*time.Second)
	if err != nil || stopped != pid {
		t.Fatalf("Stop: %d %v", stopped, err)
	}
	if _, ok := daemon.Running(h, "server"); ok {
		t.Fatal("still running after Stop")
	}
	if _, err := os.Stat(h.DaemonPidFile("server")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file left: %v", err)
	}
	if _, err := daemon.Stop(h, "server", time.Second); !errors.Is(err, daemon.ErrNotRunning) {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStopKillsADaemonThatIgnoresSIGTERM(t *testing.T) {
	h, spec := setup(t)
	pid, err := daemon.Start(context.Background(), spec("stubborn"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Stop(h, "server", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, ok := daemon.Running(h, "server"); ok {
		t.Fatalf("pid %d survived", pid)
	}
}

func TestADaemonThatDiesShowsItsLog(t *testing.T) {
	h, spec := setup(t)
	_, err := daemon.Start(context.Background(), spec("die"))
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") ||
		!strings.Contains(err.Error(), "loading config: bad value for listen") || !strings.Contains(err.Error(), h.DaemonLog("server")) {
		t.Fatalf("got %v", err)
	}
	if _, ok := daemon.Running(h, "server"); ok {
		t.Fatal("a dead daemon reported running")
	}
}

func TestAPidFileForAnotherProcessIsNotRunning(t *testing.T) {
	h, _ := setup(t)
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	// Our own pid, with the wrong start time and command line: a reused pid.
	rec := fmt.Sprintf(`{"pid":%d,"start":1,"argv":["/usr/bin/ferry","server"]}`, os.Getpid())
	if err := os.WriteFile(h.DaemonPidFile("server"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := daemon.Running(h, "server"); ok {
		t.Fatal("a reused pid was taken for ferry")
	}
	if _, err := daemon.Stop(h, "server", time.Second); !errors.Is(err, daemon.ErrNotRunning) {
		t.Fatalf("Stop on a reused pid: %v (it must not signal it)", err)
	}
	if _, err := os.Stat(h.DaemonPidFile("server")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("stale pid file kept")
	}
}

func TestBadName(t *testing.T) {
	h, _ := setup(t)
	if _, err := daemon.Start(context.Background(), daemon.Spec{Name: "../x", Home: h}); err == nil || !strings.Contains(err.Error(), `"../x"`) {
		t.Fatalf("got %v", err)
	}
}

// session reads the session id of pid from /proc/<pid>/stat.
func session(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	var sid int
	fmt.Sscan(f[3], &sid)
	return sid
}
