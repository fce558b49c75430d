package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/ferrycd/ferry/internal/home"
)

// ErrAlreadyRunning is wrapped by the error returned when a live server holds the home.
var ErrAlreadyRunning = errors.New("a ferry server is already running")

// acquireLock takes the home's server lock: an flock the kernel releases when
// its holder dies, so a crashed server never leaves the home locked and two
// servers can never both pass. The holder's pid is written in the file for
// the error message of the next one.
func acquireLock(h home.Dir) (unlock func(), err error) {
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(h.ServerLock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(h.ServerLock())
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				return nil, fmt.Errorf("%w (pid %d) on %s", ErrAlreadyRunning, pid, h.Root())
			}
			return nil, fmt.Errorf("%w on %s", ErrAlreadyRunning, h.Root())
		}
		return nil, fmt.Errorf("server lock %s: %w", h.ServerLock(), err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

// listenUnix listens on path with mode 0600. The caller holds the server
// lock, so a socket file already there belongs to a dead server and is
// removed; anything that is not a socket is left alone and reported.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("server socket %s: exists and is not a socket; move it away", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale server socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("server socket: %w", err)
	}
	// The home is 0700, so the moment between listen and chmod exposes nothing.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("server socket: %w", err)
	}
	return ln, nil
}
