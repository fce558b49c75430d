package process

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
)

// followInterval is how often a followed log is checked for new output.
const followInterval = 100 * time.Millisecond

// Logs streams a task's output: the rotated files oldest first, then the
// current one; Tail keeps only the last lines; Follow keeps streaming new
// output, across rotations, until ctx is done or the reader is closed.
// Logs outlive the task and its state directory.
func (d *Driver) Logs(ctx context.Context, handle string, opts runtime.LogOptions) (io.ReadCloser, error) {
	h, err := ParseHandle(handle)
	if err != nil {
		return nil, err
	}
	return d.logsOf(ctx, h.ID, opts)
}

// KeptLogs reads the output of task id, which may be gone, without
// following it.
func (d *Driver) KeptLogs(ctx context.Context, id string, tail int) (io.ReadCloser, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	return d.logsOf(ctx, id, runtime.LogOptions{Tail: tail})
}

// KeptOutputs lists the task outputs under the logs directory.
func (d *Driver) KeptOutputs() ([]runtime.KeptOutput, error) {
	return runtime.ListKept(d.Home.LogsDir())
}

// RemoveKept deletes task id's output (retention asks only for tasks that
// are gone).
func (d *Driver) RemoveKept(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return os.RemoveAll(d.logDir(id))
}

func (d *Driver) logsOf(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	if err := runtime.CheckTail(opts.Tail); err != nil {
		return nil, fmt.Errorf("logs of task %s: %w", id, err)
	}
	dir := d.logDir(id)
	files, err := logFiles(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("logs of task %s: none (no %s)", id, dir)
		}
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(streamLogs(ctx, dir, files, opts, pw))
	}()
	return &logReader{PipeReader: pr, cancel: cancel}, nil
}

// logReader stops the streaming goroutine when closed.
type logReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r *logReader) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

func streamLogs(ctx context.Context, dir string, files []string, opts runtime.LogOptions, w io.Writer) error {
	var emit io.Writer = w
	var tail *lineRing
	if opts.Tail > 0 {
		tail = &lineRing{max: opts.Tail}
		emit = tail
	}
	// Read every file; keep the current one open for following.
	var current *os.File
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			continue // rotated away since it was listed
		}
		_, err = io.Copy(emit, f)
		if err != nil {
			f.Close()
			return err
		}
		if p == filepath.Join(dir, logName) {
			current = f
		} else {
			f.Close()
		}
	}
	if tail != nil {
		if err := tail.flush(w); err != nil {
			return err
		}
	}
	if !opts.Follow {
		if current != nil {
			current.Close()
		}
		return nil
	}
	return follow(ctx, filepath.Join(dir, logName), current, w)
}

// follow copies what is appended to path. When the file is rotated (path
// names another file), it finishes the old file through its open descriptor
// and continues with the new one from its start.
func follow(ctx context.Context, path string, f *os.File, w io.Writer) error {
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		if f != nil {
			if _, err := io.Copy(w, f); err != nil {
				return err
			}
		}
		if next, err := os.Open(path); err == nil {
			if f != nil && sameFile(f, next) {
				next.Close()
			} else {
				if f != nil {
					// Written to the old file between the copy and the
					// rotation.
					if _, err := io.Copy(w, f); err != nil {
						next.Close()
						return err
					}
					f.Close()
				}
				f = next
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func sameFile(a, b *os.File) bool {
	ai, err1 := a.Stat()
	bi, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

// lineRing is an io.Writer that keeps the last max lines written to it.
type lineRing struct {
	max     int
	lines   []string
	partial []byte
}

func (r *lineRing) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.partial = append(r.partial, p...)
			break
		}
		r.push(string(append(r.partial, p[:i+1]...)))
		r.partial = r.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (r *lineRing) push(line string) {
	r.lines = append(r.lines, line)
	if len(r.lines) > r.max {
		r.lines = r.lines[len(r.lines)-r.max:]
	}
}

// flush writes the kept lines, then an unterminated last line if any (it
// counts as a line).
func (r *lineRing) flush(w io.Writer) error {
	if len(r.partial) > 0 {
		r.push(string(r.partial))
	}
	bw := bufio.NewWriter(w)
	for _, l := range r.lines {
		bw.WriteString(l)
	}
	return bw.Flush()
}
