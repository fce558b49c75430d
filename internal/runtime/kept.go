package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LogKeeper is what a driver may also do: keep a task's output after the
// task is removed, one directory per task id under a logs directory, until
// retention removes it. Drivers that share a logs directory list the same
// outputs.
type LogKeeper interface {
	// KeptLogs reads the kept output of task id, the last opts.Tail lines
	// (0: all). It does not follow: the task may be gone.
	KeptLogs(ctx context.Context, id string, tail int) (io.ReadCloser, error)
	// KeptOutputs lists the task outputs kept.
	KeptOutputs() ([]KeptOutput, error)
	// RemoveKept deletes the kept output of task id; removing one that is
	// not there is not an error.
	RemoveKept(id string) error
}

// CheckTail refuses a negative line count for Logs or KeptLogs.
func CheckTail(n int) error {
	if n < 0 {
		return fmt.Errorf("tail %d: want 0 (everything) or a positive number of lines", n)
	}
	return nil
}

// KeptOutput is one task's kept output.
type KeptOutput struct {
	ID       string
	Modified time.Time // when its newest file was last written
}

// ListKept lists the task outputs under dir: its subdirectories, each named
// for a task id, with the time its newest file was written. Names starting
// with a dot are a driver's own bookkeeping and files are daemon logs:
// neither is a task's output. A missing dir holds nothing.
func ListKept(dir string) ([]KeptOutput, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []KeptOutput
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		k := KeptOutput{ID: e.Name()}
		if fi, err := e.Info(); err == nil {
			k.Modified = fi.ModTime()
		}
		files, _ := os.ReadDir(filepath.Join(dir, e.Name()))
		for _, f := range files {
			if fi, err := f.Info(); err == nil && fi.ModTime().After(k.Modified) {
				k.Modified = fi.ModTime()
			}
		}
		out = append(out, k)
	}
	return out, nil
}
