package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime"
)

// Driver runs tasks as supervised OS processes. Only Home is required; the
// zero values of the other fields pick the defaults.
type Driver struct {
	Home home.Dir
	// Shim is the program re-executed as the per-task supervisor, with
	// ShimArgs before its own arguments. Default: this executable, "shim"
	// (the ferry binary's hidden command; tests dispatch on it in TestMain).
	Shim     string
	ShimArgs []string
	// LogMaxBytes is the size at which a task's log is rotated (default
	// 10 MiB); LogKeep is how many rotated files are kept (default 3).
	LogMaxBytes int64
	LogKeep     int
	// BaseEnv is where tasks take PATH, HOME, TZ and the like from; nil
	// means this process's environment.
	BaseEnv []string
	// Spares is the most shims kept started ahead of need (spares.go); 0
	// keeps none, so every Start pays the shim's start-up. Close ends them.
	Spares int

	poolOnce sync.Once
	pool     *sparePool
	// tasks is the root of the state directories (stateroot.go), chosen
	// at first use.
	tasksOnce sync.Once
	tasks     string
	// known caches what Inspect read of a task's files, by handle: a
	// handle names one process, whose spec and record never change, so
	// only its liveness (a pidfd poll) and, once dead, its exit are read
	// again. A reconciler inspects every task on every pass.
	known sync.Map // handle string → knownTask
}

// knownTask is what Inspect keeps of a task: its files, and how to tell
// whether its process still runs.
type knownTask struct {
	addr      string
	startedAt time.Time
	live      *liveness
}

var (
	_ runtime.Driver    = (*Driver)(nil)
	_ runtime.LogKeeper = (*Driver)(nil)
)

const (
	defaultLogMaxBytes = 10 << 20
	defaultLogKeep     = 3
	defaultStopTimeout = 10 * time.Second
	// startTimeout bounds how long Start waits for the shim to report.
	startTimeout = 30 * time.Second
	// killWait bounds how long a SIGKILLed group may take to disappear, and
	// how long the shim may take to record an exit.
	killWait = 5 * time.Second
)

// Name is "process".
func (d *Driver) Name() string { return "process" }

// tasksDir is the root of the task state directories (stateroot.go).
func (d *Driver) tasksDir() string {
	d.tasksOnce.Do(func() { d.tasks = chooseTasksDir(d.Home) })
	return d.tasks
}

func (d *Driver) stateDir(id string) string { return filepath.Join(d.tasksDir(), id) }

func (d *Driver) logDir(id string) string { return filepath.Join(d.Home.LogsDir(), id) }

func (d *Driver) shimArgv() ([]string, error) {
	shim, args := d.Shim, d.ShimArgs
	if shim == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("locating the shim: %w", err)
		}
		shim = exe
	}
	if args == nil {
		args = []string{"shim"}
	}
	return append([]string{shim}, args...), nil
}

// Start validates the spec (the command must exist and be executable in the
// release directory), starts the task under a new shim and returns once the
// task's process exists. Nothing is left behind when it fails.
func (d *Driver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Status, error) {
	if err := checkID(spec.ID); err != nil {
		return runtime.Status{}, err
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() || !filepath.IsAbs(spec.Dir) {
		return runtime.Status{}, fmt.Errorf("task %s: release directory %q: not an existing absolute directory", spec.ID, spec.Dir)
	}
	base := d.BaseEnv
	if base == nil {
		base = os.Environ()
	}
	env := taskEnv(spec, base)
	path, err := resolveCommand(fmt.Sprintf("services.%s.command", spec.Service), spec.Command, spec.Dir, lookupEnv(env, "PATH"))
	if err != nil {
		return runtime.Status{}, err
	}
	argv, err := d.shimArgv()
	if err != nil {
		return runtime.Status{}, err
	}
	if err := os.MkdirAll(d.tasksDir(), 0o700); err != nil {
		return runtime.Status{}, err
	}
	dir := d.stateDir(spec.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if os.IsExist(err) {
			return runtime.Status{}, fmt.Errorf("task %s already exists (remove it before reusing its id)", spec.ID)
		}
		return runtime.Status{}, err
	}
	logMax, logKeep := d.LogMaxBytes, d.LogKeep
	if logMax <= 0 {
		logMax = defaultLogMaxBytes
	}
	if logKeep <= 0 {
		logKeep = defaultLogKeep
	}
	ss := shimSpec{
		ID: spec.ID, Service: spec.Service, Path: path, Args: spec.Command, Env: env, Dir: spec.Dir, Port: spec.Port,
		Limits: spec.Limits, LogDir: d.logDir(spec.ID), LogMaxBytes: logMax, LogKeep: logKeep, ShimArgv: argv,
		Cgroup: createCgroup(probeCgroup(spec.ID, spec.Limits)),
	}
	st, err := d.startShim(ctx, dir, ss)
	if err != nil {
		removeCgroup(ss.Cgroup.Dir)
		os.RemoveAll(dir)
		return runtime.Status{}, fmt.Errorf("starting task %s: %w", spec.ID, err)
	}
	return st, nil
}

func (d *Driver) startShim(ctx context.Context, dir string, ss shimSpec) (runtime.Status, error) {
	if err := writeJSON(filepath.Join(dir, specFile), ss, untilReboot); err != nil {
		return runtime.Status{}, err
	}
	deadline := time.Now().Add(startTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	sp, done := d.takeSpare()
	defer done()
	report, handed := "", false
	if sp != nil {
		report, handed = sp.handOver(dir, deadline)
	}
	if !handed {
		var err error
		if report, err = startColdShim(dir, ss.ShimArgv, deadline); err != nil {
			return runtime.Status{}, err
		}
	}
	if report != "ok" {
		if report == "" {
			report = "the shim exited or timed out without reporting"
			if diagText, _ := os.ReadFile(filepath.Join(dir, shimLog)); len(diagText) > 0 {
				report += ": " + strings.TrimSpace(string(diagText))
			}
		}
		return runtime.Status{}, errors.New(strings.TrimPrefix(report, "error: "))
	}
	var rec taskRecord
	if err := readJSON(filepath.Join(dir, taskFile), &rec); err != nil {
		return runtime.Status{}, err
	}
	return runtime.Status{ID: ss.ID, Handle: rec.handle(ss.ID).String(), Running: true, ExitCode: -1,
		StartedAt: rec.StartedAt, Addr: addr(ss.Port)}, nil
}

// startColdShim starts `ferry shim run DIR` and returns its report: "ok",
// "error: …", or "" when it exited or timed out without one (it is killed).
func startColdShim(dir string, shimArgv []string, deadline time.Time) (string, error) {
	diag, err := os.OpenFile(filepath.Join(dir, shimLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return "", err
	}
	defer diag.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer readyR.Close()
	shim := shimCommand(shimArgv, "run", dir)
	shim.Dir = dir // as superviseTask sets it: the task it supervises
	shim.Stdout, shim.Stderr = diag, diag
	shim.ExtraFiles = []*os.File{readyW}
	err = shim.Start()
	readyW.Close()
	if err != nil {
		return "", fmt.Errorf("starting shim %s: %w", shimArgv[0], err)
	}
	go reap(shim)
	return readReport(readyR, deadline, shim.Process), nil
}

// shimCommand is `ferry shim ARGS…` in a session of its own, so that it
// outlives this process. It needs nothing of the server's environment, and
// must not see its secrets.
func shimCommand(shimArgv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(shimArgv[0], append(shimArgv[1:], args...)...)
	cmd.Env = []string{"PATH=" + defaultPath}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// readReport reads a shim's one-line report from its ready pipe until
// deadline: "ok", "error: …", or "" when the shim exited or timed out
// without one, in which case it is killed.
func readReport(ready *os.File, deadline time.Time, shim *os.Process) string {
	ready.SetReadDeadline(deadline)
	line, _ := bufio.NewReader(ready).ReadString('\n')
	report := strings.TrimSpace(line)
	if report == "" {
		shim.Kill()
	}
	return report
}

// PlannedAddr is where a task given port is reached: runtime.AddrPlanner.
func (d *Driver) PlannedAddr(port int) string { return addr(port) }

func addr(port int) string {
	if port <= 0 {
		return ""
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// Inspect reports the task a handle names. A task that is gone, or a pid now
// used by another process (its start time differs), is not running; the exit
// code is known once the shim recorded it, -1 otherwise.
func (d *Driver) Inspect(ctx context.Context, handle string) (runtime.Status, error) {
	h, err := ParseHandle(handle)
	if err != nil {
		return runtime.Status{}, err
	}
	st := runtime.Status{ID: h.ID, Handle: handle, ExitCode: -1}
	dir := d.stateDir(h.ID)
	k, ok := d.known.Load(handle)
	if !ok {
		var ss shimSpec
		if readJSON(filepath.Join(dir, specFile), &ss) == nil {
			st.Addr = addr(ss.Port)
		}
		var rec taskRecord
		if readJSON(filepath.Join(dir, taskFile), &rec) != nil || rec.handle(h.ID) != h {
			// Not (or no longer) the task recorded under this id: nothing
			// more is known of it.
			st.Running = alive(h.PID, h.Start)
			return st, nil
		}
		k, _ = d.known.LoadOrStore(handle, knownTask{addr: st.Addr, startedAt: rec.StartedAt, live: newLiveness(h)})
	}
	kt := k.(knownTask)
	st.Addr, st.StartedAt, st.Running = kt.addr, kt.startedAt, kt.live.running()
	if !st.Running {
		var exit exitRecord
		if readJSON(filepath.Join(dir, exitFile), &exit) == nil {
			st.ExitCode, st.ExitedAt = exit.Code, exit.ExitedAt
		}
	}
	return st, nil
}

// List reports the running tasks of this driver, found from their state
// directories and verified against /proc.
func (d *Driver) List(ctx context.Context) ([]runtime.Status, error) {
	entries, err := os.ReadDir(d.tasksDir())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []runtime.Status
	for _, e := range entries {
		if !e.IsDir() || checkID(e.Name()) != nil {
			continue
		}
		var rec taskRecord
		if readJSON(filepath.Join(d.stateDir(e.Name()), taskFile), &rec) != nil {
			continue // starting, or a Start that failed: not a task yet
		}
		st, err := d.Inspect(ctx, rec.handle(e.Name()).String())
		if err == nil && st.Running {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Stop sends signal (default SIGTERM) to the task's process group, waits up
// to timeout (<= 0: 10s) for the task to exit, then SIGKILLs the group. It
// returns once the exit is recorded. Stopping a task that is gone is not an
// error.
func (d *Driver) Stop(ctx context.Context, handle string, signal string, timeout time.Duration) error {
	h, err := ParseHandle(handle)
	if err != nil {
		return err
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return fmt.Errorf("stopping task %s: %w", h.ID, err)
	}
	if timeout <= 0 {
		timeout = defaultStopTimeout
	}
	if alive(h.PID, h.Start) {
		// The task leads its own group: signal every process in it.
		if err := syscall.Kill(-h.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stopping task %s: %w", h.ID, err)
		}
		gone, err := waitGone(ctx, h.PID, h.Start, timeout)
		if err != nil {
			return err
		}
		if !gone {
			syscall.Kill(-h.PID, syscall.SIGKILL)
			if gone, err = waitGone(ctx, h.PID, h.Start, killWait); err != nil {
				return err
			} else if !gone {
				return fmt.Errorf("stopping task %s: pid %d survived SIGKILL for %s", h.ID, h.PID, killWait)
			}
		}
	}
	return d.waitShim(ctx, h)
}

// waitShim waits until the task's shim has recorded its exit and ended, so
// that Inspect knows the exit code and Remove finds nothing still writing.
func (d *Driver) waitShim(ctx context.Context, h Handle) error {
	var rec taskRecord
	if readJSON(filepath.Join(d.stateDir(h.ID), taskFile), &rec) != nil || rec.handle(h.ID) != h {
		return nil
	}
	_, err := waitGone(ctx, rec.ShimPID, rec.ShimStart, killWait)
	return err
}

// Remove deletes a stopped task's state directory; its logs stay until
// retention removes them. Removing a task that is already gone is not an
// error.
func (d *Driver) Remove(ctx context.Context, handle string) error {
	h, err := ParseHandle(handle)
	if err != nil {
		return err
	}
	if alive(h.PID, h.Start) {
		return fmt.Errorf("removing task %s: it is running (stop it first)", h.ID)
	}
	dir := d.stateDir(h.ID)
	var rec taskRecord
	if readJSON(filepath.Join(dir, taskFile), &rec) == nil {
		if rec.handle(h.ID) != h {
			return fmt.Errorf("removing task %s: handle %s does not name the task recorded under that id", h.ID, handle)
		}
		if err := d.waitShim(ctx, h); err != nil {
			return err
		}
		removeCgroup(rec.Cgroup)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing task %s: %w", h.ID, err)
	}
	if k, ok := d.known.LoadAndDelete(handle); ok {
		k.(knownTask).live.close()
	}
	return nil
}

// parseSignal accepts "SIGTERM", "TERM", "sigterm" and the like.
func parseSignal(name string) (syscall.Signal, error) {
	if name == "" {
		return syscall.SIGTERM, nil
	}
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if s := unixSignalNum(n); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("stop signal %q: not a signal name (such as SIGTERM, SIGINT, SIGQUIT)", name)
}
