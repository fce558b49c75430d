// Package e2e runs the real ferry binary: it is built once per test run and
// every test drives it as a user would, with its own $FERRY_HOME in a temp
// dir, real task processes and real sockets on 127.0.0.1.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	fhome "github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime/process"
	"github.com/ferrycd/ferry/test/chaos/rig"
)

// ferryBin is the path of the ferry binary built by TestMain.
var ferryBin string

// repoRoot is the module root (for examples/).
var repoRoot string

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir, err := os.MkdirTemp("", "ferry-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", ferryBin, "./cmd/ferry")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ferry:", err)
		os.Exit(1)
	}
	code := m.Run()
	// What a failed test left running must not outlive the run.
	rig.KillLeftovers(ferryBin, os.Stderr)
	os.RemoveAll(dir)
	removeTmpfsState()
	os.Exit(code)
}

// result is one finished ferry invocation.
type result struct {
	Stdout, Stderr string
	Code           int
}

// ferry runs the binary with args in dir, with FERRY_HOME=home plus extra
// environment, and waits (bounded by a minute) for it to exit.
func ferry(t *testing.T, dir, home string, env []string, args ...string) result {
	t.Helper()
	noteTmpfsState(home)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "FERRY_HOME="+home), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("ferry %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// mustFerry is ferry that fails the test on a non-zero exit.
func mustFerry(t *testing.T, dir, home string, env []string, args ...string) result {
	t.Helper()
	r := ferry(t, dir, home, env, args...)
	if r.Code != 0 {
		t.Fatalf("ferry %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// tmpfsStates holds the directories ferry keeps task state in on a tmpfs
// (process.TmpfsHome) for the homes this run used: they outlive the
// tests' temp homes.
var tmpfsStates sync.Map

// noteTmpfsState records home's, while home still exists (the name
// depends on where its path leads).
func noteTmpfsState(home string) {
	if h, err := fhome.New(home); err == nil {
		if dir := process.TmpfsHome(h); dir != "" {
			tmpfsStates.Store(dir, true)
		}
	}
}

// removeTmpfsState removes them once every test is over: a test's subtests
// share its home and its server.
func removeTmpfsState() {
	tmpfsStates.Range(func(dir, _ any) bool {
		os.RemoveAll(dir.(string))
		return true
	})
}
