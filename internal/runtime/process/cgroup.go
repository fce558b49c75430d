package process

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrycd/ferry/internal/runtime"
)

// cgroupPlan is what to do with cgroup v2 for one task: a directory to create
// with control files to write, or the reason there is none. rlimits apply
// either way; a cgroup adds what they cannot express (total memory of the
// whole process tree, a pids cap that holds for root, CPU quota).
type cgroupPlan struct {
	Dir     string            // the task's cgroup, "" when skipped
	Files   map[string]string // control file name → value
	Skipped string            // why there is no cgroup
}

// cgroupParent is ferry's subtree under the cgroup2 mount.
const cgroupParent = "ferry"

// planCgroup decides, purely, which limits go to a cgroup for task id given
// the cgroup2 mount point ("" when there is none) and the controllers it
// offers.
func planCgroup(mount string, controllers []string, id string, l runtime.Limits) cgroupPlan {
	want := map[string]string{}
	if l.MemoryBytes > 0 {
		want["memory.max"] = strconv.FormatInt(l.MemoryBytes, 10)
	}
	if l.Procs > 0 {
		want["pids.max"] = strconv.FormatUint(l.Procs, 10)
	}
	if l.CPU > 0 {
		const period = 100000
		want["cpu.max"] = fmt.Sprintf("%d %d", int64(l.CPU*period), period)
	}
	if len(want) == 0 {
		return cgroupPlan{Skipped: "no memory, pids or cpu limit asked for"}
	}
	if mount == "" {
		return cgroupPlan{Skipped: "no cgroup2 file system mounted"}
	}
	var missing []string
	for file := range want {
		ctrl, _, _ := strings.Cut(file, ".")
		if !slices.Contains(controllers, ctrl) {
			missing = append(missing, ctrl)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return cgroupPlan{Skipped: fmt.Sprintf("cgroup2 at %s lacks the %s controller(s) (it offers: %s)",
			mount, strings.Join(missing, ", "), strings.Join(controllers, " "))}
	}
	return cgroupPlan{Dir: filepath.Join(mount, cgroupParent, id), Files: want}
}

// cgroup2Mount finds the cgroup2 mount point in /proc/self/mountinfo
// contents, preferring /sys/fs/cgroup (a pure v2 host) over a hybrid's
// /sys/fs/cgroup/unified.
func cgroup2Mount(mountinfo []byte) string {
	var found []string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - cgroup2 cgroup2 rw"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(postFields) < 1 || postFields[0] != "cgroup2" {
			continue
		}
		found = append(found, fields[4])
	}
	if slices.Contains(found, "/sys/fs/cgroup") {
		return "/sys/fs/cgroup"
	}
	if len(found) > 0 {
		return found[0]
	}
	return ""
}

// probeCgroup plans task id's cgroup on this machine. A task with no limit
// needs no probe: reading the mount table costs more than the rest of a
// start where a machine has many mounts (a container host).
func probeCgroup(id string, l runtime.Limits) cgroupPlan {
	if l.MemoryBytes <= 0 && l.Procs == 0 && l.CPU <= 0 {
		return planCgroup("", nil, id, l)
	}
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	mount := cgroup2Mount(mountinfo)
	var controllers []string
	if mount != "" {
		data, _ := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
		controllers = strings.Fields(string(data))
	}
	return planCgroup(mount, controllers, id, l)
}

// createCgroup makes the plan's directory, delegating the controllers down
// from the mount, and writes the limits. Any failure (not root, a
// non-delegated subtree, a busy parent) turns the plan into a skip with the
// reason: cgroups are a best effort on top of rlimits.
func createCgroup(p cgroupPlan) cgroupPlan {
	if p.Dir == "" {
		return p
	}
	parent := filepath.Dir(p.Dir)
	mount := filepath.Dir(parent)
	var ctrls []string
	for file := range p.Files {
		ctrl, _, _ := strings.Cut(file, ".")
		ctrls = append(ctrls, "+"+ctrl)
	}
	slices.Sort(ctrls)
	enable := strings.Join(ctrls, " ")
	steps := []func() error{
		func() error {
			return os.WriteFile(filepath.Join(mount, "cgroup.subtree_control"), []byte(enable), 0o644)
		},
		func() error { return mkdirIfMissing(parent) },
		func() error {
			return os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte(enable), 0o644)
		},
		func() error { return mkdirIfMissing(p.Dir) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return cgroupPlan{Skipped: fmt.Sprintf("cgroup2: %v", err)}
		}
	}
	for file, v := range p.Files {
		if err := os.WriteFile(filepath.Join(p.Dir, file), []byte(v), 0o644); err != nil {
			os.Remove(p.Dir)
			return cgroupPlan{Skipped: fmt.Sprintf("cgroup2: %v", err)}
		}
	}
	return p
}

func mkdirIfMissing(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	return nil
}
