package rig

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
	routerclient "github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/runtime/process"
)

// Cluster is one ferry home with its router, server and the hello app.
type Cluster struct {
	Bin  string
	Home string
	Addr string // where the router serves traffic
	App  App
	// Disk is the size of Home's own tmpfs in bytes; 0 when Home is a
	// plain temporary directory.
	Disk int64
}

// Options shape a cluster; the zero value is a plain temporary home.
type Options struct {
	// Disk > 0 mounts a tmpfs of that many bytes as $FERRY_HOME (needs
	// root), so that the suite can fill it.
	Disk int64
}

// NewCluster makes the home (short: unix socket paths are limited to 108
// bytes) and writes the app into it; Up starts ferry.
func NewCluster(bin string, o Options) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "fc")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Bin: bin, Home: dir, Disk: o.Disk}
	if o.Disk > 0 {
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(o.Disk, 10)+",mode=0700", "tmpfs", dir).CombinedOutput()
		if err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("mounting a %d-byte tmpfs as $FERRY_HOME at %s (the disk-full fault needs it; run as root): %v: %s", o.Disk, dir, err, out)
		}
	}
	if c.App, err = NewApp(filepath.Join(dir, "app")); err != nil {
		c.Close()
		return nil, err
	}
	if c.Addr, err = freeAddr(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Ferry runs a ferry command in the app's directory.
func (c *Cluster) Ferry(timeout time.Duration, args ...string) (Result, error) {
	return Ferry(c.Bin, c.App.Dir, c.Home, timeout, args...)
}

// MustFerry is Ferry that turns a non-zero exit into an error.
func (c *Cluster) MustFerry(timeout time.Duration, args ...string) (Result, error) {
	r, err := c.Ferry(timeout, args...)
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("ferry %v: %s", args, r)
	}
	return r, err
}

// Up starts router and server and deploys the app as written.
func (c *Cluster) Up() error {
	_, err := c.MustFerry(2*time.Minute, "up", "--listen", c.Addr)
	return err
}

// Close stops everything of the home (`ferry down --all`), kills what is
// left (a task the down missed is reported by the suite's own checks
// before Close) and removes the home.
func (c *Cluster) Close() error {
	var first error
	if _, err := os.Stat(c.Home); err == nil {
		if _, err := c.MustFerry(time.Minute, "down", "--all"); err != nil {
			first = err
		}
	}
	for _, p := range TaskProcs(c.Home) {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
	for _, name := range []string{"server", "router"} {
		if pid, ok := daemon.Running(c.home(), name); ok {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if c.Disk > 0 {
		if out, err := exec.Command("umount", "-l", c.Home).CombinedOutput(); err != nil && first == nil {
			first = fmt.Errorf("umount %s: %v: %s", c.Home, err, out)
		}
	}
	if dir := process.TmpfsHome(c.home()); dir != "" {
		os.RemoveAll(dir)
	}
	os.RemoveAll(c.Home)
	return first
}

func (c *Cluster) home() home.Dir {
	h, _ := home.New(c.Home)
	return h
}

// PID is the running daemon ("server" or "router") as its pid file
// records it.
func (c *Cluster) PID(name string) (int, error) {
	b, err := os.ReadFile(c.home().DaemonPidFile(name))
	if err != nil {
		return 0, err
	}
	var rec struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 0 {
		return 0, fmt.Errorf("%s pid file %q: %v", name, b, err)
	}
	return rec.PID, nil
}

// Kill sends SIGKILL to the daemon and waits until it is gone.
func (c *Cluster) Kill(name string) (int, error) {
	pid, err := c.PID(name)
	if err != nil {
		return 0, err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return pid, fmt.Errorf("kill -9 %s (pid %d): %w", name, pid, err)
	}
	if !WaitGone(pid, 10*time.Second) {
		return pid, fmt.Errorf("%s (pid %d) survived SIGKILL", name, pid)
	}
	return pid, nil
}

// StartServer starts `ferry server --detach`, as a user would after a crash.
func (c *Cluster) StartServer() error {
	_, err := c.MustFerry(time.Minute, "server", "--detach")
	return err
}

// StartRouter starts the router daemon on the cluster's address, as
// `ferry up` does, and returns once its admin socket answers.
func (c *Cluster) StartRouter() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := c.home()
	_, err := daemon.Start(ctx, daemon.Spec{Name: "router", Path: c.Bin, Home: h,
		Args: []string{"router", "--listen", c.Addr}, Ready: routerclient.New(h.RouterSocket()).Ping})
	return err
}

// RestartRouter is the seamless restart, `ferry router restart`.
func (c *Cluster) RestartRouter() error {
	_, err := c.MustFerry(time.Minute, "router", "restart")
	return err
}

// StorePath is the home's SQLite file.
func (c *Cluster) StorePath() string { return c.home().StorePath() }

// Status is `ferry status -o json`, decoded into v.
func (c *Cluster) Status(v any) error {
	r, err := c.MustFerry(30*time.Second, "status", "-o", "json")
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(r.Stdout), v)
}
