package process

import (
	"context"
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waitGone waits up to timeout for the process pid (started at start) to
// exit and reports whether it did. It waits on a pidfd, an event, where the
// kernel offers one, and polls /proc otherwise.
func waitGone(ctx context.Context, pid int, start uint64, timeout time.Duration) (bool, error) {
	if pid <= 0 || !alive(pid, start) {
		return true, nil
	}
	deadline := time.Now().Add(timeout)
	fd, gone := pinProcess(pid, start)
	if gone {
		return true, nil
	}
	if fd >= 0 {
		defer unix.Close(fd)
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return !alive(pid, start), nil
		}
		// Wake at least every 100ms to notice ctx being cancelled.
		step := min(left, 100*time.Millisecond)
		if fd >= 0 {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if _, perr := unix.Poll(fds, int(step.Milliseconds())+1); perr != nil && !errors.Is(perr, syscall.EINTR) {
				return false, perr
			}
			if fds[0].Revents&unix.POLLIN != 0 {
				return true, nil
			}
			continue
		}
		if !alive(pid, start) {
			return true, nil
		}
		time.Sleep(min(step, 10*time.Millisecond))
	}
}

// pinProcess opens a pidfd on the process pid that started at start. A
// pidfd names whichever process has the pid when it is opened, so the start
// time is checked again once it is open. fd is -1 when that process is gone
// (gone is then true) or when this kernel offers no pidfds, in which case
// /proc must be read instead.
func pinProcess(pid int, start uint64) (fd int, gone bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, errors.Is(err, unix.ESRCH)
	}
	if !alive(pid, start) {
		unix.Close(fd)
		return -1, true
	}
	return fd, false
}

// unixSignalNum is the signal called name ("SIGTERM"), or 0.
func unixSignalNum(name string) syscall.Signal { return unix.SignalNum(name) }
