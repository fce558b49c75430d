package process

import (
	"sync"

	"golang.org/x/sys/unix"
)

// liveness answers, for one handle, whether its process is still running,
// cheaply enough for a reconciler that asks about every task on every pass.
// Reading /proc/<pid>/stat costs tens of microseconds; a pidfd, opened once
// and checked against the handle's start time, is polled in about one. An
// exit is final, so once seen it is remembered and the fd closed. Where
// pidfd_open is unavailable (Linux before 5.3, a seccomp filter) every
// check reads /proc, as alive does.
type liveness struct {
	pid   int
	start uint64

	mu     sync.Mutex
	fd     int  // the pidfd, -1 when not open
	opened bool // an open was tried
	exited bool
}

func newLiveness(h Handle) *liveness { return &liveness{pid: h.PID, start: h.Start, fd: -1} }

// running reports whether the handle's process has not exited.
func (l *liveness) running() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.exited {
		return false
	}
	if !l.opened {
		l.opened = true
		l.fd, l.exited = pinProcess(l.pid, l.start)
	}
	switch {
	case l.exited:
	case l.fd < 0: // no pidfds here
		l.exited = !alive(l.pid, l.start)
	default:
		l.exited = exitedPidfd(l.fd, l.pid, l.start)
		if l.exited {
			l.closeLocked()
		}
	}
	return !l.exited
}

// exitedPidfd reports whether the process behind pidfd fd has exited: the
// fd turns readable then (a zombie not yet reaped counts as exited, as in
// alive). A poll that fails says nothing, so /proc decides.
func exitedPidfd(fd, pid int, start uint64) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return !alive(pid, start)
		}
		return n > 0
	}
}

// close releases the pidfd; a later running call reads /proc.
func (l *liveness) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
}

func (l *liveness) closeLocked() {
	if l.fd >= 0 {
		unix.Close(l.fd)
		l.fd = -1
	}
}
