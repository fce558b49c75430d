package rig

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	fhome "github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime/process"
)

// TaskProc is a live task process of a home, as /proc shows it.
type TaskProc struct {
	PID      int
	Task     string // FERRY_TASK_ID
	Revision int    // FERRY_REVISION
	Env      string // FERRY_ENVIRONMENT
}

// TaskProcs finds the live (not zombie) processes whose environment names a
// ferry task and whose working directory (a release directory) is under
// home: the ground truth the store is checked against. (The process driver
// does not pass FERRY_HOME to tasks.)
func TaskProcs(home string) []TaskProc {
	root, err := filepath.EvalSymlinks(home)
	if err != nil {
		return nil
	}
	var out []TaskProc
	for _, pid := range pids() {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil || !strings.HasPrefix(cwd, root+"/") {
			continue
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || Zombie(pid) {
			continue
		}
		p := TaskProc{PID: pid}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			k, v, _ := strings.Cut(string(kv), "=")
			switch k {
			case "FERRY_TASK_ID":
				p.Task = v
			case "FERRY_REVISION":
				p.Revision, _ = strconv.Atoi(v)
			case "FERRY_ENVIRONMENT":
				p.Env = v
			}
		}
		if p.Task != "" {
			out = append(out, p)
		}
	}
	return out
}

// ShimTasks counts the live shims of home per task id: `ferry shim run|spare`
// processes whose working directory is the task's state directory (a
// spare's command line does not name its task), in either state root the
// process driver may have chosen (process.StateRoots).
func ShimTasks(home string) map[string]int {
	root, err := filepath.EvalSymlinks(home)
	if err != nil {
		return nil
	}
	h, err := fhome.New(root)
	if err != nil {
		return nil
	}
	roots := process.StateRoots(h)
	out := map[string]int{}
	for _, pid := range pids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || Zombie(pid) {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if !slices.Contains(argv, "shim") || !(slices.Contains(argv, "run") || slices.Contains(argv, "spare")) {
			continue
		}
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil {
			continue
		}
		for _, root := range roots {
			if id, ok := strings.CutPrefix(cwd, root+"/"); ok {
				out[id]++
			}
		}
	}
	return out
}

func pids() []int {
	ents, _ := os.ReadDir("/proc")
	out := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// statFields are the fields of /proc/PID/stat after the command name (state,
// ppid, ...), or none when pid is gone.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
}

// Zombie reports whether pid is gone or a zombie.
func Zombie(pid int) bool {
	f := statFields(pid)
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// KillLeftovers kills every process running the binary bin and the process
// groups of their children (a task leads its own group under its
// supervisor), and names each on w: what a failed test left running.
func KillLeftovers(bin string, w io.Writer) {
	var found []int
	children := map[int][]int{}
	for _, pid := range pids() {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.TrimSuffix(exe, " (deleted)") == bin {
			found = append(found, pid)
		}
		if f := statFields(pid); len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	for _, p := range found {
		if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); len(cmdline) > 0 {
			fmt.Fprintf(w, "killing leftover %q and its %d child processes\n", bytes.TrimSpace(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})), len(children[p]))
		}
		for _, c := range children[p] {
			syscall.Kill(-c, syscall.SIGKILL)
			syscall.Kill(c, syscall.SIGKILL)
		}
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// WaitGone polls until pid is gone or a zombie.
func WaitGone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if Zombie(pid) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Usage is a process's resource use at one moment.
type Usage struct {
	RSS     int64 // bytes
	Threads int
	FDs     int
}

// Measure reads pid's RSS and thread count from /proc/PID/status and counts
// its open descriptors in /proc/PID/fd.
func Measure(pid int) (Usage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			u.RSS = kb << 10
		case "Threads":
			u.Threads, _ = strconv.Atoi(f[0])
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return Usage{}, err
	}
	u.FDs = len(fds)
	return u, nil
}
