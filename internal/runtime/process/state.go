package process

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
)

// The files of a task's state directory (<root>/<id>/, mode 0700; the root is
// chosen in stateroot.go).
const (
	specFile = "spec.json" // shimSpec, written by the driver before the shim starts (0600: holds the env)
	taskFile = "task.json" // taskRecord, written by the shim once the task runs
	exitFile = "exit.json" // exitRecord, written by the shim when the task has exited
	shimLog  = "shim.log"  // the shim's own diagnostics (never the task's env)
)

// shimSpec is everything the shim needs to start and supervise a task.
type shimSpec struct {
	ID          string
	Service     string
	Path        string   // resolved program
	Args        []string // argv, Args[0] as written in ferry.yaml
	Env         []string
	Dir         string
	Port        int
	Limits      runtime.Limits
	LogDir      string
	LogMaxBytes int64
	LogKeep     int
	ShimArgv    []string // how to re-execute the shim (for its exec helper)
	Cgroup      cgroupPlan
}

// taskRecord is the running task as the shim started it.
type taskRecord struct {
	PID       int
	Start     uint64
	StartedAt time.Time
	ShimPID   int
	ShimStart uint64
	// Cgroup is the task's cgroup v2 directory, or "" with the reason in
	// CgroupSkipped.
	Cgroup        string
	CgroupSkipped string
}

// exitRecord is how the task ended.
type exitRecord struct {
	// Code is the exit status, or 128+signal when a signal killed it (the
	// shell's convention).
	Code     int
	Signal   string
	ExitedAt time.Time
}

func (r taskRecord) handle(id string) Handle { return Handle{ID: id, PID: r.PID, Start: r.Start} }

// durability says whether writeJSON fsyncs before the rename.
type durability bool

const (
	// untilReboot: the record describes a process, which a power loss ends
	// anyway; readers take a record they cannot read for no task. Skipping
	// the fsync keeps the disk off the path of a task's start.
	untilReboot durability = false
	// synced: the record must outlive the machine (how a task ended).
	synced durability = true
)

// writeJSON replaces path atomically (write, fsync when d is synced,
// rename), so a reader never sees half a record even if the writer dies.
func writeJSON(path string, v any, d durability) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && d == synced {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
