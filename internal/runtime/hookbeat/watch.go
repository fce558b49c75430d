package hookbeat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Env names the heartbeat file in a hook's environment.
const Env = "FERRY_HOOK_HEARTBEAT"

// ErrTimeout is the cause of a Watcher's context when the hook ran out of
// time; the wrapping error says whether it stopped beating or hit the
// maximum.
var ErrTimeout = errors.New("hook timed out")

// Watcher keeps the moving deadline of one running hook.
type Watcher struct {
	path string
	now  func() time.Time

	mu sync.Mutex
	d  deadline
}

// Watch creates (or truncates) the heartbeat file at path and starts the
// clock: the hook has base to finish, and each beat gives it base again from
// the beat, up to limit from now (a limit below base means no extension).
func Watch(path string, base, limit time.Duration) (*Watcher, error) {
	if base <= 0 {
		return nil, fmt.Errorf("hook heartbeat: timeout %s: must be positive", base)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hook heartbeat: %w", err)
	}
	f.Close()
	w := &Watcher{path: path, now: time.Now}
	w.d = newDeadline(w.now(), base, limit, mtime(path))
	return w, nil
}

// Path is the heartbeat file, the value of $FERRY_HOOK_HEARTBEAT for the hook.
func (w *Watcher) Path() string { return w.path }

// Deadline looks at the heartbeat file and returns when the hook times out.
func (w *Watcher) Deadline() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = w.d.observe(mtime(w.path), w.now())
	return w.d.at()
}

// Context returns a context that ends when the hook times out, with a cause
// wrapping ErrTimeout (see context.Cause), or when parent ends. The file is
// only looked at when the current deadline comes: a beat in between moves it.
func (w *Watcher) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		t := time.NewTimer(time.Until(w.Deadline()))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if left := w.Deadline().Sub(w.now()); left > 0 {
				t.Reset(left)
				continue
			}
			cancel(w.timeoutErr())
			return
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

func (w *Watcher) timeoutErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.d.capped() {
		return fmt.Errorf("%w: reached the heartbeat maximum of %s", ErrTimeout, w.d.max)
	}
	if w.d.beat.After(w.d.start) {
		return fmt.Errorf("%w: no heartbeat for %s", ErrTimeout, w.d.base)
	}
	return fmt.Errorf("%w after %s", ErrTimeout, w.d.base)
}

// Beat touches the heartbeat file at path. It does not create it: a missing
// file means no watcher is waiting for this hook.
func Beat(path string) error {
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("heartbeat file %s does not exist: the hook is no longer watched", path)
		}
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// mtime is the file's modification time, zero when it cannot be read.
func mtime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
