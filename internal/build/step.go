package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// tailLines is how much of a failing step's output its error carries.
const tailLines = 20

// StepError is a step that did not succeed.
type StepError struct {
	Step     string
	ExitCode int      // -1 when it did not exit normally (signal, not started)
	Tail     []string // the last lines of its output
	Err      error
}

func (e *StepError) Error() string {
	var b strings.Builder
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "build step %q failed with exit code %d", e.Step, e.ExitCode)
	} else {
		fmt.Fprintf(&b, "build step %q failed: %v", e.Step, e.Err)
	}
	if len(e.Tail) > 0 {
		b.WriteString("; last output:")
		for _, l := range e.Tail {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// runStep runs s with `sh -c` in dir, streaming its combined output to log.
// The step gets its own process group so cancelling ctx stops everything it
// started.
func runStep(ctx context.Context, dir string, base []string, s Step, log io.Writer) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", s.Run)
	cmd.Dir = dir
	cmd.Env = slices.Clone(base)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		cmd.Env = append(cmd.Env, k+"="+s.Env[k])
	}
	lw := &lineWriter{prefix: "[" + s.Name + "] ", out: log}
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A background process left holding the output pipe must not hang the
	// build once the step itself has exited.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	lw.flush()
	if err == nil {
		return nil
	}
	se := &StepError{Step: s.Name, ExitCode: -1, Tail: lw.tail, Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		se.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		se.Err = ctx.Err()
	}
	return se
}

// lineWriter forwards whole lines, prefixed, and remembers the last few.
type lineWriter struct {
	prefix string
	out    io.Writer
	buf    []byte
	tail   []string
}

// maxLine bounds a line kept in memory; longer ones are cut into pieces.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLine {
				w.line(w.buf[:maxLine])
				w.buf = w.buf[maxLine:]
				continue
			}
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.line(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) line(b []byte) {
	l := strings.TrimSuffix(string(b), "\r")
	if w.out != nil {
		io.WriteString(w.out, w.prefix+l+"\n")
	}
	w.tail = append(w.tail, l)
	if len(w.tail) > tailLines {
		w.tail = w.tail[len(w.tail)-tailLines:]
	}
}
