// Package daemon owns starting ferry's own long-running processes (the
// server, the router) in the background, knowing whether they run, and
// stopping them. It re-executes the ferry binary detached (own session,
// stdin from /dev/null, output to home.DaemonLog) and records it in
// home.DaemonPidFile. It never starts or stops tasks: those belong to the
// runtime drivers.
package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/internal/home"
)

// ErrNotRunning is returned by Stop when the daemon is not running.
var ErrNotRunning = errors.New("not running")

// Spec describes a daemon to start.
type Spec struct {
	// Name ("server", "router") names the pid and log files.
	Name string
	// Args are the ferry binary's arguments, e.g. ["server", "--listen", ":7070"].
	Args []string
	Home home.Dir
	// Path is the binary; "" means this one (os.Executable).
	Path string
	// Env is added to this process's environment (FERRY_HOME is set to Home).
	Env []string
	// Ready probes the daemon; Start returns once it succeeds. nil means
	// the daemon is ready as soon as it has started.
	Ready func(ctx context.Context) error
	// Timeout bounds the wait for Ready; 0 means 15s.
	Timeout time.Duration
}

// record is the pid file: enough to tell our daemon from a process that
// later reused its pid.
type record struct {
	PID   int      `json:"pid"`
	Start uint64   `json:"start"` // /proc/<pid>/stat starttime, clock ticks since boot
	Argv  []string `json:"argv"`
}

// Start launches the daemon and waits until it is ready. If it exits or
// is not ready in time, it is stopped and the error quotes the end of its log.
func Start(ctx context.Context, s Spec) (pid int, err error) {
	if s.Name == "" || strings.ContainsAny(s.Name, "/.") {
		return 0, fmt.Errorf("daemon name %q: want a plain word like server or router", s.Name)
	}
	if pid, ok := Running(s.Home, s.Name); ok {
		return pid, fmt.Errorf("ferry %s is already running (pid %d)", s.Name, pid)
	}
	if err := s.Home.Ensure(); err != nil {
		return 0, err
	}
	path := s.Path
	if path == "" {
		if path, err = os.Executable(); err != nil {
			return 0, fmt.Errorf("starting ferry %s: finding ferry's binary: %w", s.Name, err)
		}
	}
	logPath := s.Home.DaemonLog(s.Name)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("starting ferry %s: %w", s.Name, err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)

	cmd := exec.Command(path, s.Args...)
	cmd.Env = append(append(os.Environ(), "FERRY_HOME="+s.Home.Root()), s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf // stdin stays nil: /dev/null
	cmd.Dir = s.Home.Root()
	// Its own session: no controlling terminal, untouched by the caller's
	// Ctrl-C, and it outlives the command that started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting ferry %s: %w", s.Name, err)
	}
	pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it dies while we still run

	fail := func(why string) (int, error) {
		_ = cmd.Process.Kill()
		os.Remove(s.Home.DaemonPidFile(s.Name))
		return 0, fmt.Errorf("ferry %s %s; the end of %s:\n%s", s.Name, why, logPath, tail(logPath, logStart, 20))
	}
	start, err := startTime(pid)
	if err != nil {
		return fail("exited at once")
	}
	rec, _ := json.Marshal(record{PID: pid, Start: start, Argv: append([]string{path}, s.Args...)})
	if err := writeFileAtomic(s.Home.DaemonPidFile(s.Name), rec); err != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("starting ferry %s: pid file: %w", s.Name, err)
	}

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.Ready == nil {
			return pid, nil
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		perr := s.Ready(pctx)
		cancel()
		if perr == nil {
			return pid, nil
		}
		select {
		case werr := <-exited:
			return fail(fmt.Sprintf("exited before it was ready (%v)", werr))
		case <-deadline.C:
			return fail(fmt.Sprintf("not ready after %s (last probe: %v)", timeout, perr))
		case <-ctx.Done():
			return fail("start cancelled")
		case <-tick.C:
		}
	}
}

// Running reports the daemon's pid if its pid file names a live process that
// is the one recorded: same start time and same command line, so a reused
// pid is never mistaken for ferry.
func Running(h home.Dir, name string) (int, bool) {
	rec, err := readRecord(h, name)
	if err != nil {
		return 0, false
	}
	return rec.PID, alive(rec)
}

// Stop sends SIGTERM, waits up to timeout for the daemon to exit, then sends
// SIGKILL. It removes the pid file. A daemon that is not running (or a stale
// pid file) gives ErrNotRunning.
func Stop(h home.Dir, name string, timeout time.Duration) (pid int, err error) {
	rec, err := readRecord(h, name)
	if err != nil || !alive(rec) {
		os.Remove(h.DaemonPidFile(name))
		return 0, fmt.Errorf("ferry %s: %w", name, ErrNotRunning)
	}
	if err := syscall.Kill(rec.PID, syscall.SIGTERM); err != nil && err != syscall.ESRCH {
		return rec.PID, fmt.Errorf("stopping ferry %s (pid %d): %w", name, rec.PID, err)
	}
	if !waitGone(rec, timeout) {
		_ = syscall.Kill(rec.PID, syscall.SIGKILL)
		if !waitGone(rec, 5*time.Second) {
			return rec.PID, fmt.Errorf("ferry %s (pid %d) survived SIGKILL", name, rec.PID)
		}
	}
	os.Remove(h.DaemonPidFile(name))
	return rec.PID, nil
}

func readRecord(h home.Dir, name string) (record, error) {
	var rec record
	b, err := os.ReadFile(h.DaemonPidFile(name))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 0 {
		return rec, fmt.Errorf("pid file %s: unreadable", h.DaemonPidFile(name))
	}
	return rec, nil
}

func waitGone(rec record, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(rec) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling /proc: there is no exit event for a non-child
	}
	return true
}

// alive: the pid runs (a zombie does not count), started when recorded, with
// the recorded command line.
func alive(rec record) bool {
	st, err := startTime(rec.PID)
	if err != nil || st != rec.Start {
		return false
	}
	argv, err := readArgv(rec.PID)
	return err == nil && slices.Equal(argv, rec.Argv)
}

// readArgv is pid's command line, nil when it is empty (a kernel thread, a
// zombie, an exec under way).
func readArgv(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}

// startTime reads field 22 of /proc/<pid>/stat; a zombie or dead process is an error.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("pid %d has exited", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// tail returns up to n last lines written to path since offset.
func tail(path string, offset int64, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(b[offset:]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "(empty)"
	}
	return strings.Join(lines, "\n")
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
