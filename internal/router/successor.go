package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A seamless restart, as nginx's binary upgrade and HAProxy's seamless
// reload do it: the running router starts its successor (the same binary
// path, so an upgraded binary takes over) with the listening sockets
// inherited as file descriptors, named by handoverEnv, plus two pipes: one
// carrying the table and targets' health, one on which the successor says
// it is ready. The sockets never close, so no connection is refused. Once
// the successor is ready the old process stops accepting, finishes its
// requests in flight, closes idle keep-alive connections (clients reconnect,
// to the successor) and exits.
const handoverEnv = "FERRY_ROUTER_HANDOVER"

// successorTimeout bounds the wait for a successor to be ready; past it the
// successor is killed and the old process goes on serving.
const successorTimeout = 15 * time.Second

// fd roles in handoverEnv, e.g. "ready=3,state=4,proxy=5,admin=6,metrics=7".
var handoverRoles = []string{"ready", "state", "proxy", "admin", "metrics"}

// parseHandoverEnv reads handoverEnv's value: role=fd pairs, every role
// known, fds ≥ 3 (0-2 are stdio), ready, state, proxy and admin required.
func parseHandoverEnv(v string) (map[string]int, error) {
	fds := map[string]int{}
	for _, part := range strings.Split(v, ",") {
		role, num, ok := strings.Cut(part, "=")
		fd, err := strconv.Atoi(num)
		switch {
		case !ok || err != nil:
			return nil, fmt.Errorf("%s=%q: %q is not role=fd", handoverEnv, v, part)
		case !known(role):
			return nil, fmt.Errorf("%s=%q: unknown role %q", handoverEnv, v, role)
		case fd < 3 || fd > 1024:
			return nil, fmt.Errorf("%s=%q: fd %d of %s out of range", handoverEnv, v, fd, role)
		}
		if _, dup := fds[role]; dup {
			return nil, fmt.Errorf("%s=%q: %s given twice", handoverEnv, v, role)
		}
		fds[role] = fd
	}
	for _, r := range handoverRoles[:4] {
		if _, ok := fds[r]; !ok {
			return nil, fmt.Errorf("%s=%q: no %s fd", handoverEnv, v, r)
		}
	}
	return fds, nil
}

func known(role string) bool {
	for _, r := range handoverRoles {
		if r == role {
			return true
		}
	}
	return false
}

// inherited is what a successor received from its predecessor.
type inherited struct {
	ready, state          *os.File
	proxy, admin, metrics net.Listener // metrics may be nil
}

// inherit reads handoverEnv; nil when this process was started afresh.
func inherit() (*inherited, error) {
	v, ok := os.LookupEnv(handoverEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(handoverEnv) // not for this process's own successor
	fds, err := parseHandoverEnv(v)
	if err != nil {
		return nil, err
	}
	in := &inherited{
		ready: os.NewFile(uintptr(fds["ready"]), "handover-ready"),
		state: os.NewFile(uintptr(fds["state"]), "handover-state"),
	}
	listen := func(role string) (net.Listener, error) {
		fd, ok := fds[role]
		if !ok {
			return nil, nil
		}
		f := os.NewFile(uintptr(fd), "handover-"+role)
		defer f.Close() // FileListener holds its own duplicate
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, fmt.Errorf("router: inherited %s socket (fd %d): %w", role, fd, err)
		}
		return ln, nil
	}
	if in.proxy, err = listen("proxy"); err == nil {
		if in.admin, err = listen("admin"); err == nil {
			in.metrics, err = listen("metrics")
		}
	}
	if err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

// close releases what was not put to use (after a failed start).
func (in *inherited) close() {
	for _, f := range []*os.File{in.ready, in.state} {
		f.Close()
	}
	for _, ln := range []net.Listener{in.proxy, in.admin, in.metrics} {
		if ln != nil {
			ln.Close()
		}
	}
}

// signalReady tells the predecessor this process accepts on every socket.
func (in *inherited) signalReady() error {
	defer in.ready.Close()
	_, err := in.ready.Write([]byte{'1'})
	return err
}

// startSuccessor starts this binary again with the same arguments, hands it
// the listeners and h, and returns its pid once it is ready. On error the
// successor is gone and nothing changed for this process.
func startSuccessor(proxy, admin, metrics net.Listener, h handover) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("restart: finding ferry's binary: %w", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("restart: %w", err)
	}
	defer readyR.Close()
	stateR, stateW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return 0, fmt.Errorf("restart: %w", err)
	}
	child := []*os.File{readyW, stateR}
	defer func() {
		for _, f := range child {
			f.Close() // the successor has its own copies
		}
	}()
	spec := "ready=3,state=4"
	for _, l := range []struct {
		role string
		ln   net.Listener
	}{{"proxy", proxy}, {"admin", admin}, {"metrics", metrics}} {
		if l.ln == nil {
			continue
		}
		f, err := dupListener(l.ln, l.role)
		if err != nil {
			stateW.Close()
			return 0, fmt.Errorf("restart: %s socket: %w", l.role, err)
		}
		child = append(child, f)
		spec += fmt.Sprintf(",%s=%d", l.role, 2+len(child))
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(withoutEnv(os.Environ(), handoverEnv), handoverEnv+"="+spec)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = child
	// Its own session, as the daemon manager starts the router: it must
	// outlive this process and ignore the terminal this one may have.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		stateW.Close()
		return 0, fmt.Errorf("restart: starting %s: %w", exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	go func() {
		json.NewEncoder(stateW).Encode(h)
		stateW.Close()
	}()
	readyR.SetReadDeadline(time.Now().Add(successorTimeout))
	var b [1]byte
	if _, err := readyR.Read(b[:]); err != nil {
		cmd.Process.Kill()
		why := "exited before it was ready"
		if errors.Is(err, os.ErrDeadlineExceeded) {
			why = fmt.Sprintf("was not ready within %s", successorTimeout)
		}
		return 0, fmt.Errorf("restart: the new process (pid %d) %s: %v", cmd.Process.Pid, why, <-exited)
	}
	return cmd.Process.Pid, nil
}

// dupListener duplicates ln's socket for a child. Not ln.File(): exec
// calls Fd on it, which would switch the socket, shared with ln, to
// blocking mode and leave this process's Accept and Close stuck.
func dupListener(ln net.Listener, role string) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%T has no file descriptor", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if nfd, derr = syscall.Dup(int(fd)); derr == nil {
			syscall.CloseOnExec(nfd)
		}
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), "handover-"+role), nil
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
