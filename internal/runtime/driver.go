// Package runtime defines how ferry starts, stops, inspects, lists, reads the
// logs of and execs into tasks, whatever runs them. Drivers live in
// subpackages (process, docker). This package must not know about the store,
// deployments or the router: a driver runs what it is told and reports what
// it sees.
package runtime

import (
	"context"
	"io"
	"time"
)

// TaskSpec is everything a driver needs to start one task.
type TaskSpec struct {
	ID          string // unique task id, e.g. "web-r3-7f2c1a"
	App         string
	Environment string
	Service     string
	Revision    int
	// Dir is the read-only release directory (process driver).
	Dir string
	// Image is the image reference or digest (docker driver).
	Image   string
	Command []string
	// Env is the task's rendered environment (may contain secrets: drivers
	// must never log it). Drivers add PORT and FERRY_* themselves.
	Env map[string]string
	// Port is the port ferry allocated for the task; 0 for tasks that listen
	// on nothing.
	Port        int
	StopSignal  string        // default "SIGTERM"
	StopTimeout time.Duration // default 10s, then SIGKILL
	Limits      Limits
}

// Limits bound a task's resources. Zero means unlimited.
type Limits struct {
	MemoryBytes int64
	NoFile      uint64
	Procs       uint64
	CPU         float64 // cores (drivers that can enforce it)
}

// AddrPlanner is what a Driver may also do: say before Start where a task
// given port will be reached. The controller then registers a new task
// with the router while the driver starts it, instead of after: the router
// finds it the moment it listens (a refusal before that is not a failed
// check). Both drivers here publish a task on 127.0.0.1:port.
type AddrPlanner interface {
	PlannedAddr(port int) string
}

// Status is what a driver sees of a task.
type Status struct {
	ID string
	// Handle identifies the task to its driver across restarts of ferry (for
	// the process driver: pid and process start time). The store keeps it.
	Handle    string
	Running   bool
	ExitCode  int // valid when !Running and known; -1 when unknown
	StartedAt time.Time
	ExitedAt  time.Time
	// Addr is host:port where the router reaches the task ("" without a port).
	Addr string
}

// LogOptions selects task output.
type LogOptions struct {
	Follow bool
	Tail   int // last N lines; 0 = all
}

// ExecOptions runs a command inside a task's environment and directory.
type ExecOptions struct {
	Command []string
	// Env adds KEY=VALUE pairs to the task's environment for this command
	// only (a later pair wins), without relying on an `env` program in the
	// task: a FROM scratch image has none.
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
}

// Driver runs tasks.
type Driver interface {
	// Name is the driver's name as written in ferry.yaml ("process", "docker").
	Name() string
	// Start launches the task and returns once it is running (not healthy).
	Start(ctx context.Context, spec TaskSpec) (Status, error)
	// Stop sends the stop signal, waits up to timeout, then kills. Stopping a
	// task that is already gone is not an error.
	Stop(ctx context.Context, handle string, signal string, timeout time.Duration) error
	// Inspect reports a task by handle; a handle whose task is gone (or whose
	// pid was reused by another process) reports Running=false.
	Inspect(ctx context.Context, handle string) (Status, error)
	// List reports every task this driver is running for ferry.
	List(ctx context.Context) ([]Status, error)
	// Logs streams the task's stdout and stderr.
	Logs(ctx context.Context, handle string, opts LogOptions) (io.ReadCloser, error)
	// Exec runs a command in the task's environment and working directory and
	// returns its exit code.
	Exec(ctx context.Context, handle string, opts ExecOptions) (int, error)
	// Remove deletes what the driver keeps of a stopped task (logs stay
	// until retention removes them).
	Remove(ctx context.Context, handle string) error
}
