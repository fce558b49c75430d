package process

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ferrycd/ferry/internal/home"
)

// Where task state directories live. Their files (spec, record, exit,
// shim diagnostics) describe processes, so they mean nothing after a reboot,
// and every task start creates half a dozen of them and every stop deletes
// them. On a disk that is an inode allocation each, with journal writes; on
// an ext4 without a journal, each allocation also scans past the inodes
// deleted in the last half minute, which a rolling deploy keeps full. So,
// like runc and containerd under /run, the driver keeps them on a tmpfs
// when it can: /dev/shm/ferry-<hash of the home>/tasks, when ferry runs as
// root and /dev/shm is a tmpfs. Only as root: systemd (RemoveIPC) empties a
// logged-out regular user's files in /dev/shm, which would lose the state
// of tasks still running. Otherwise they stay in HOME/run/tasks.
//
// The choice is made once per driver. Tasks left in HOME/run/tasks by an
// earlier ferry keep the driver there until none is left, so a restarted
// server always finds the tasks it must adopt.

// shmRoot is the tmpfs the driver prefers; a variable for tests.
var shmRoot = "/dev/shm"

// diskTasksDir is the state directory root in the home.
func diskTasksDir(h home.Dir) string { return filepath.Join(h.RunDir(), "tasks") }

// TmpfsHome is home h's directory on the tmpfs, which holds its task
// state root, or "" when a driver cannot keep state there (not root,
// /dev/shm not a tmpfs). It creates nothing.
func TmpfsHome(h home.Dir) string {
	if os.Geteuid() != 0 {
		return ""
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(shmRoot, &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		return ""
	}
	root := h.Root() // absolute (home.New)
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(shmRoot, "ferry-"+hex.EncodeToString(sum[:8]))
}

// tmpfsTasksDir is the state root in TmpfsHome, or "".
func tmpfsTasksDir(h home.Dir) string {
	if dir := TmpfsHome(h); dir != "" {
		return filepath.Join(dir, "tasks")
	}
	return ""
}

// StateRoots are the directories a driver of home h may keep task state
// directories in, whichever it chose: the home's, then the tmpfs one.
func StateRoots(h home.Dir) []string {
	roots := []string{diskTasksDir(h)}
	if dir := tmpfsTasksDir(h); dir != "" {
		roots = append(roots, dir)
	}
	return roots
}

// chooseTasksDir picks the state directory root for a driver of home h (see
// above). It creates the tmpfs one; Start creates the one in the home.
func chooseTasksDir(h home.Dir) string {
	disk := diskTasksDir(h)
	if entries, err := os.ReadDir(disk); err == nil && len(entries) > 0 {
		return disk // tasks of an earlier ferry, or stopped ones not yet removed
	}
	if dir := tmpfsTasksDir(h); dir != "" && ownDir(filepath.Dir(dir)) == nil && ownDir(dir) == nil {
		return dir
	}
	return disk
}

// ownDir creates dir (0700) or accepts it as it is only when it is a real
// directory of this user that nobody else can enter: /dev/shm is writable
// by every user, who could have made the name first.
func ownDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("%s: not a directory of uid %d with mode 0700", dir, os.Geteuid())
	}
	return nil
}

// releaseTasksDir removes a tmpfs state root and its parent once they are
// empty, so that a home that runs nothing leaves nothing behind in /dev/shm.
func releaseTasksDir(h home.Dir, dir string) {
	if dir == "" || dir == diskTasksDir(h) {
		return
	}
	if os.Remove(dir) == nil {
		os.Remove(filepath.Dir(dir))
	}
}
