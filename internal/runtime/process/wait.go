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
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		defer unix.Close(fd)
		// The pidfd might name a newer process with a reused pid: check
		// again now that it is pinned.
		if !alive(pid, start) {
			return true, nil
		}
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
		if fd >= 0 && err == nil {
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

// unixSignalNum is the signal called name ("SIGTERM"), or 0.
func unixSignalNum(name string) syscall.Signal { return unix.SignalNum(name) }
