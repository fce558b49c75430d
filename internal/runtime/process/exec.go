package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/ferrycd/ferry/internal/runtime"
)

// Exec runs a command in a running task's release directory with the task's
// environment (as the shim recorded it, PORT and FERRY_* included), and
// returns its exit code (128+signal when a signal ended it). With TTY the
// command gets a pseudo-terminal as its controlling terminal. The command
// runs beside the task, not under its rlimits or cgroup.
func (d *Driver) Exec(ctx context.Context, handle string, opts runtime.ExecOptions) (int, error) {
	h, err := ParseHandle(handle)
	if err != nil {
		return -1, err
	}
	if !alive(h.PID, h.Start) {
		return -1, fmt.Errorf("exec in task %s: it is not running", h.ID)
	}
	var ss shimSpec
	if err := readJSON(filepath.Join(d.stateDir(h.ID), specFile), &ss); err != nil {
		return -1, fmt.Errorf("exec in task %s: %w", h.ID, err)
	}
	path, err := resolveCommand("exec", opts.Command, ss.Dir, lookupEnv(ss.Env, "PATH"))
	if err != nil {
		return -1, err
	}
	cmd := exec.CommandContext(ctx, path, opts.Command[1:]...)
	cmd.Args[0] = opts.Command[0]
	// os/exec keeps the last value of a duplicated key, so opts.Env wins.
	cmd.Dir, cmd.Env = ss.Dir, append(slices.Clip(ss.Env), opts.Env...)
	if opts.TTY {
		return runTTY(cmd, opts)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	return exitCode(cmd.Run())
}

// runTTY runs cmd on a new pty: stdin is copied to the terminal, everything
// the terminal prints to opts.Stdout (a terminal has one output stream).
func runTTY(cmd *exec.Cmd, opts runtime.ExecOptions) (int, error) {
	master, slave, err := openPTY()
	if err != nil {
		return -1, err
	}
	defer master.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		return -1, err
	}
	if opts.Stdin != nil {
		go io.Copy(master, opts.Stdin)
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	// Reading the master ends (EIO) once the command and everything it
	// started have closed the terminal.
	io.Copy(out, master)
	return exitCode(cmd.Wait())
}

func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
