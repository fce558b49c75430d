package process

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// logName is the current output file of a task; rotated files are
// logName.1 (newest) … logName.<keep> (oldest).
const logName = "output.log"

// rotator is an io.Writer that appends to dir/output.log and rotates it once
// it would grow past max bytes, keeping keep rotated files. The shim calls
// Write once per line, so files are cut between lines.
type rotator struct {
	dir  string
	max  int64
	keep int
	f    *os.File
	size int64
}

func openRotator(dir string, max int64, keep int) (*rotator, error) {
	if max <= 0 || keep < 0 {
		return nil, fmt.Errorf("log rotation: max %d bytes, keep %d: want max > 0 and keep >= 0", max, keep)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	r := &rotator{dir: dir, max: max, keep: keep}
	return r, r.open()
}

func (r *rotator) open() error {
	f, err := os.OpenFile(filepath.Join(r.dir, logName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, fi.Size()
	return nil
}

func (r *rotator) Write(p []byte) (int, error) {
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate shifts output.log.N to .N+1, dropping the oldest, and starts a new
// output.log. Readers following the old file by its descriptor finish it
// before they move on (see Logs).
func (r *rotator) rotate() error {
	if err := r.f.Close(); err != nil {
		return err
	}
	base := filepath.Join(r.dir, logName)
	if r.keep == 0 {
		os.Remove(base)
	} else {
		os.Remove(base + "." + strconv.Itoa(r.keep))
		for i := r.keep - 1; i >= 1; i-- {
			os.Rename(base+"."+strconv.Itoa(i), base+"."+strconv.Itoa(i+1))
		}
		if err := os.Rename(base, base+".1"); err != nil {
			return err
		}
	}
	return r.open()
}

func (r *rotator) Close() error { return r.f.Close() }

// logFiles lists a task's log files oldest first: output.log.N … .1, then
// output.log (if present).
func logFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type rotated struct {
		n    int
		path string
	}
	var old []rotated
	current := ""
	for _, e := range entries {
		name := e.Name()
		if name == logName {
			current = filepath.Join(dir, name)
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(name, logName+".")); err == nil && strings.HasPrefix(name, logName+".") && n > 0 {
			old = append(old, rotated{n, filepath.Join(dir, name)})
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].n > old[j].n })
	files := make([]string, 0, len(old)+1)
	for _, o := range old {
		files = append(files, o.path)
	}
	if current != "" {
		files = append(files, current)
	}
	return files, nil
}
