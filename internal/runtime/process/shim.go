package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
	"golang.org/x/sys/unix"
)

// ShimMain is the hidden `ferry shim` command: args are "run <state-dir>"
// (supervise one task; the driver passes a pipe on fd 3 to learn that the task
// started), "spare" (a spare shim: read the state directory from fd 4, then
// as run; exit quietly at EOF) or "exec <state-dir>" (the shim's helper:
// apply the task's limits to itself, then execve the task). It returns the
// process exit code.
func ShimMain(args []string) int {
	if len(args) == 1 && args[0] == "spare" {
		dir, ok := awaitTask(os.NewFile(4, "control")) // closes fd 4
		if !ok {
			return 0 // the driver went away before needing this spare
		}
		args = []string{"run", dir}
	}
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ferry shim run|exec STATE-DIR, or ferry shim spare")
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		// fd 3 must not leak into the task: the driver waits for it to close.
		syscall.CloseOnExec(3)
		err = superviseTask(args[1], os.NewFile(3, "ready"))
	case "exec":
		err = execTask(args[1])
		if err != nil {
			// stderr is the task's log: say there why the task never ran.
			fmt.Fprintf(os.Stderr, "ferry: starting task: %v\n", err)
			return 127
		}
	default:
		err = fmt.Errorf("unknown shim mode %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry shim: %v\n", err)
		return 1
	}
	return 0
}

// superviseTask starts the task, reports on ready, then waits for it to end
// and records how it ended. It runs in its own session, so it survives the
// server; the task runs in its own process group, so that group is what Stop
// signals and what the shim cleans up after the task exits.
func superviseTask(stateDir string, ready *os.File) (err error) {
	defer func() {
		if ready != nil {
			fmt.Fprintf(ready, "error: %v\n", err)
			ready.Close()
		}
	}()
	var spec shimSpec
	if err := readJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		return err
	}
	// The shim's working directory says which task it supervises (a spare's
	// command line cannot), and pins nothing: the driver removes the
	// directory only after the shim has exited.
	if err := os.Chdir(stateDir); err != nil {
		return err
	}
	logs, err := openRotator(spec.LogDir, spec.LogMaxBytes, spec.LogKeep)
	if err != nil {
		return fmt.Errorf("task log: %w", err)
	}
	defer logs.Close()
	out, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	helper := taskCommand(stateDir, spec)
	helper.Stdout, helper.Stderr = outW, outW
	helper.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Subscribe before the start so a stop signal never finds us unready.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := helper.Start(); err != nil {
		outW.Close()
		out.Close()
		return fmt.Errorf("starting %s: %w", spec.Path, err)
	}
	outW.Close()
	pid := helper.Process.Pid
	copied := make(chan struct{})
	go func() {
		copyLines(logs, out)
		close(copied)
	}()

	rec := taskRecord{PID: pid, StartedAt: time.Now().UTC(), ShimPID: os.Getpid(), Cgroup: spec.Cgroup.Dir, CgroupSkipped: spec.Cgroup.Skipped}
	st, err := readStat(pid) // the child is not reaped yet: its stat exists
	if err == nil {
		rec.Start = st.Start
		if self, serr := readStat(os.Getpid()); serr == nil {
			rec.ShimStart = self.Start
		}
		err = writeJSON(filepath.Join(stateDir, taskFile), rec, untilReboot)
	}
	if err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		helper.Wait()
		return fmt.Errorf("recording task: %w", err)
	}
	fmt.Fprintln(ready, "ok")
	ready.Close()
	ready = nil

	go func() {
		for sig := range sigs {
			// Lost terminals do not stop tasks; stop requests are passed on.
			if sig != syscall.SIGHUP {
				syscall.Kill(-pid, sig.(syscall.Signal))
			}
		}
	}()

	// Learn that the task exited without reaping it, so its pid (the group
	// id) cannot be reused while the rest of its group is killed.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	yieldCPU()
	syscall.Kill(-pid, syscall.SIGKILL)
	waitErr := helper.Wait()
	exit := exitRecord{Code: -1, ExitedAt: time.Now().UTC()}
	if ps := helper.ProcessState; ps != nil {
		ws := ps.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			exit.Code, exit.Signal = 128+int(ws.Signal()), unix.SignalName(ws.Signal())
		default:
			exit.Code = ws.ExitStatus()
		}
	} else if waitErr != nil {
		return fmt.Errorf("waiting for task: %w", waitErr)
	}
	if err := writeJSON(filepath.Join(stateDir, exitFile), exit, synced); err != nil {
		return fmt.Errorf("recording exit: %w", err)
	}
	// A process that left the group may hold the output pipe open: do not
	// wait for it forever.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	removeCgroup(rec.Cgroup)
	return nil
}

// reap waits for a shim this process started, so that it does not linger
// as a zombie once it ends; if this process dies first, init adopts it. The
// wait runs at the least CPU priority: a shim ends after its task, and
// reaping it (the kernel tearing down its /proc entries) is clean-up that
// must not compete with the tasks starting meanwhile (yieldCPU).
func reap(shim *exec.Cmd) {
	yieldCPU()
	shim.Wait()
}

// yieldCPU lowers the calling goroutine's thread to the least CPU priority.
// A shim calls it once its task has exited: what is left (reaping the task,
// in which the kernel tears down its /proc entries, then recording the exit)
// is clean-up that must not compete with what starts at the same moment. On
// a rolling deploy, that is the batch of tasks replacing this one: with a
// dozen old tasks reaped at once, the teardown took a third of the CPU of
// the replacements' start-up. Lowering a priority needs no privilege. It
// orders threads of one scheduling group: where the kernel groups the root
// cgroup's processes by session (autogroup), a shim, in a session of its
// own, is not lowered against other sessions; when ferry runs in a cpu
// cgroup (systemd with CPU accounting on), where autogroup does not apply,
// it is.
func yieldCPU() {
	goruntime.LockOSThread() // the priority is the thread's: keep to it
	unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
}

// copyLines writes r to w one line at a time (lines longer than 64 KiB in
// pieces), so that log rotation never cuts a line.
func copyLines(w io.Writer, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			w.Write(line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// awaitTask reads the state directory a spare shim is given, then points
// the shim's diagnostics at that task's shim log. ok is false at EOF.
func awaitTask(ctl *os.File) (dir string, ok bool) {
	line, err := bufio.NewReader(ctl).ReadString('\n')
	ctl.Close()
	dir = strings.TrimSuffix(line, "\n")
	if err != nil || !filepath.IsAbs(dir) {
		return "", false
	}
	if diag, err := os.OpenFile(filepath.Join(dir, shimLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		unix.Dup3(int(diag.Fd()), 1, 0)
		unix.Dup3(int(diag.Fd()), 2, 0)
		diag.Close()
	}
	return dir, true
}

// taskCommand is how the shim starts its task: directly when nothing needs
// setting between fork and exec, through the exec helper (a second start-up
// of this binary) when rlimits or a cgroup must be applied first.
func taskCommand(stateDir string, spec shimSpec) *exec.Cmd {
	if len(rlimits(spec.Limits)) > 0 || spec.Cgroup.Dir != "" {
		return exec.Command(spec.ShimArgv[0], append(spec.ShimArgv[1:], "exec", stateDir)...)
	}
	cmd := &exec.Cmd{Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir}
	if len(cmd.Env) == 0 {
		cmd.Env = []string{} // never the shim's own environment
	}
	return cmd
}

// execTask runs in the shim's helper process: it limits itself, joins the
// task's cgroup, and becomes the task. Limits are set here rather than in the
// shim so that the shim itself is never constrained by them.
func execTask(stateDir string) error {
	var spec shimSpec
	if err := readJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		return err
	}
	for _, l := range rlimits(spec.Limits) {
		// Soft and hard alike: Go programs raise their soft NOFILE to the hard
		// limit at start-up.
		if err := syscall.Setrlimit(l.resource, &syscall.Rlimit{Cur: l.value, Max: l.value}); err != nil {
			return fmt.Errorf("%s=%d: %w", l.name, l.value, err)
		}
	}
	if spec.Cgroup.Dir != "" {
		if err := os.WriteFile(filepath.Join(spec.Cgroup.Dir, "cgroup.procs"), []byte("0"), 0o644); err != nil {
			return fmt.Errorf("joining cgroup: %w", err)
		}
	}
	if err := os.Chdir(spec.Dir); err != nil {
		return err
	}
	return syscall.Exec(spec.Path, spec.Args, spec.Env)
}

// rlimit is one resource limit for a task.
type rlimit struct {
	name     string
	resource int
	value    uint64
}

// rlimits maps a task's limits to rlimits. Memory is RLIMIT_DATA rather than
// RLIMIT_AS: runtimes such as Go's reserve far more address space than they
// use, and DATA counts only writable private memory. RLIMIT_NPROC counts the
// user's processes (and does not bind root); a cgroup's pids.max is the exact
// per-task cap where one is available.
func rlimits(l runtime.Limits) []rlimit {
	var out []rlimit
	if l.NoFile > 0 {
		out = append(out, rlimit{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, l.NoFile})
	}
	if l.Procs > 0 {
		out = append(out, rlimit{"RLIMIT_NPROC", unix.RLIMIT_NPROC, l.Procs})
	}
	if l.MemoryBytes > 0 {
		out = append(out, rlimit{"RLIMIT_DATA", unix.RLIMIT_DATA, uint64(l.MemoryBytes)})
	}
	return out
}

// removeCgroup kills anything left in a task's cgroup and removes it.
func removeCgroup(dir string) {
	if dir == "" {
		return
	}
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
	for range 50 {
		if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
