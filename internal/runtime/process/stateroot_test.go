package process

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// onTmpfs reports whether this machine lets a driver keep its state on a
// tmpfs (root, /dev/shm a tmpfs), and if so points shmRoot at a fresh
// directory in /dev/shm for the test.
func onTmpfs(t *testing.T) bool {
	t.Helper()
	var fs unix.Statfs_t
	if os.Geteuid() != 0 || unix.Statfs("/dev/shm", &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
		return false
	}
	dir, err := os.MkdirTemp("/dev/shm", "ferry-test-")
	if err != nil {
		t.Fatal(err)
	}
	old := shmRoot
	shmRoot = dir
	t.Cleanup(func() { shmRoot = old; os.RemoveAll(dir) })
	return true
}

func TestTaskStateLivesOnTmpfsAsRootElseInTheHome(t *testing.T) {
	tmpfs := onTmpfs(t)
	d := newDriver(t)
	disk := filepath.Join(d.Home.RunDir(), "tasks")
	want := disk
	if tmpfs {
		want = tmpfsTasksDir(d.Home)
		if !strings.HasPrefix(want, shmRoot+"/ferry-") {
			t.Fatalf("tmpfsTasksDir = %q, want it under %s", want, shmRoot)
		}
	} else if got := TmpfsHome(d.Home); got != "" {
		t.Fatalf("TmpfsHome = %q without root or a tmpfs, want none", got)
	}
	if got := d.tasksDir(); got != want {
		t.Fatalf("tasksDir = %q, want %q", got, want)
	}

	ctx := context.Background()
	st, err := d.Start(ctx, helloSpec(t, "web-shm", nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(want, "web-shm", taskFile)); err != nil {
		t.Fatalf("the task's record is not in %s: %v", want, err)
	}
	if tmpfs {
		for _, dir := range []string{filepath.Dir(want), want} {
			fi, err := os.Lstat(dir)
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("%s: %v, mode %v; want a 0700 directory", dir, err, fi.Mode())
			}
		}
		// A restarted server (a new driver of the same home) finds the task.
		again := &Driver{Home: d.Home}
		if running, err := again.List(ctx); err != nil || len(running) != 1 || running[0].ID != "web-shm" {
			t.Fatalf("a new driver lists %+v, %v; want web-shm", running, err)
		}
	}
	if err := d.Stop(ctx, st.Handle, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, st.Handle); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if tmpfs {
		if _, err := os.Stat(filepath.Dir(want)); !os.IsNotExist(err) {
			t.Fatalf("Close left %s behind: %v", filepath.Dir(want), err)
		}
	}
}

func TestTasksOfAnEarlierFerryKeepTheDriverInTheHome(t *testing.T) {
	onTmpfs(t)
	h := testHome(t)
	disk := filepath.Join(h.RunDir(), "tasks")
	if err := os.MkdirAll(filepath.Join(disk, "web-r1-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	d := &Driver{Home: h}
	if got := d.tasksDir(); got != disk {
		t.Fatalf("tasksDir = %q with a task in %s, want the home's", got, disk)
	}
}

func TestStateRootRefusesADirectoryAnotherUserCouldHaveMade(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh")
	if err := ownDir(fresh); err != nil {
		t.Fatalf("a new directory: %v", err)
	}
	if err := ownDir(fresh); err != nil {
		t.Fatalf("the same directory again: %v", err)
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	link := filepath.Join(dir, "link")
	os.Symlink(fresh, link)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	for _, bad := range []string{open, link, file} {
		if err := ownDir(bad); err == nil {
			t.Errorf("ownDir(%s) accepted it", filepath.Base(bad))
		}
	}
}
