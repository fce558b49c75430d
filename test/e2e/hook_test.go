package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/runtime/hookbeat"
)

// runHook runs script under a heartbeat watcher the way the controller runs a
// pre_stop hook: the hook's context ends when its moving deadline passes.
func runHook(t *testing.T, script string, base, limit time.Duration) (error, error) {
	t.Helper()
	w, err := hookbeat.Watch(filepath.Join(t.TempDir(), "heartbeat"), base, limit)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := w.Context(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), hookbeat.Env+"="+w.Path(), "FERRY="+ferryBin)
	cmd.WaitDelay = time.Second // a grandchild holding the output pipe must not hold the test
	out, runErr := cmd.CombinedOutput()
	if runErr != nil {
		t.Logf("hook output:\n%s", out)
	}
	return runErr, context.Cause(ctx)
}

func TestHookHeartbeatExtendsTimeout(t *testing.T) {
	// Ten beats 100ms apart: the hook runs over 1s, three times its 300ms
	// timeout, and finishes because every beat restarts the clock.
	start := time.Now()
	runErr, cause := runHook(t, `for i in 1 2 3 4 5 6 7 8 9 10; do "$FERRY" hook heartbeat || exit 3; sleep 0.1; done`,
		300*time.Millisecond, time.Minute)
	if runErr != nil || cause != nil {
		t.Fatalf("a beating hook was stopped: %v (cause %v)", runErr, cause)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("the hook ran %s: the test did not outlast the base timeout", el)
	}
}

func TestHookWithoutHeartbeatTimesOut(t *testing.T) {
	start := time.Now()
	runErr, cause := runHook(t, `exec sleep 30`, 300*time.Millisecond, time.Minute)
	if runErr == nil || !errors.Is(cause, hookbeat.ErrTimeout) {
		t.Fatalf("a silent hook was not stopped at its timeout: %v (cause %v)", runErr, cause)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("stopped after %s, want about 300ms", el)
	}
}

func TestHookHeartbeatOutsideAHook(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	r := ferry(t, dir, home, []string{hookbeat.Env + "="}, "hook", "heartbeat")
	if r.Code != 2 || !strings.Contains(r.Stderr, "FERRY_HOOK_HEARTBEAT is not set") ||
		!strings.Contains(r.Stderr, "only works inside a ferry lifecycle hook") {
		t.Fatalf("exit %d, stderr %q; want exit 2 explaining the variable is only set inside a hook", r.Code, r.Stderr)
	}

	missing := filepath.Join(dir, "gone")
	r = ferry(t, dir, home, []string{hookbeat.Env + "=" + missing}, "hook", "heartbeat")
	if r.Code == 0 || !strings.Contains(r.Stderr, missing) {
		t.Fatalf("exit %d, stderr %q; want a failure naming the missing file", r.Code, r.Stderr)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("heartbeat created a file nobody watches")
	}

	beat := filepath.Join(dir, "beat")
	if err := os.WriteFile(beat, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(beat, old, old); err != nil {
		t.Fatal(err)
	}
	mustFerry(t, dir, home, []string{hookbeat.Env + "=" + beat}, "hook", "heartbeat")
	fi, err := os.Stat(beat)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(fi.ModTime()) > time.Minute {
		t.Fatalf("mtime %s not moved by the heartbeat", fi.ModTime())
	}
}
