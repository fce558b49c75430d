package hookbeat

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// done waits for ctx to end, failing after 5s.
func done(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the hook's context did not end within 5s")
	}
}

func watch(t *testing.T, base, limit time.Duration) *Watcher {
	t.Helper()
	w, err := Watch(filepath.Join(t.TempDir(), "beat"), base, limit)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestTimesOutWithoutBeat(t *testing.T) {
	w := watch(t, 50*time.Millisecond, time.Minute)
	start := time.Now()
	ctx, cancel := w.Context(context.Background())
	defer cancel()
	done(t, ctx)
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("timed out after %s, before the 50ms base", el)
	}
	if c := context.Cause(ctx); !errors.Is(c, ErrTimeout) || !strings.Contains(c.Error(), "after 50ms") {
		t.Errorf("cause = %v, want ErrTimeout after 50ms", c)
	}
}

// beating touches the file every 20ms until the returned stop is called.
func beating(t *testing.T, path string) (stop func()) {
	quit, exited := make(chan struct{}), make(chan struct{})
	tick := time.NewTicker(20 * time.Millisecond)
	go func() {
		defer close(exited)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if err := Beat(path); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	var once bool
	stop = func() {
		if !once {
			once = true
			close(quit)
			<-exited
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestBeatsExtendThenStopping(t *testing.T) {
	const base = 300 * time.Millisecond
	w := watch(t, base, time.Minute)
	ctx, cancel := w.Context(context.Background())
	defer cancel()
	stop := beating(t, w.Path())
	select {
	case <-ctx.Done():
		t.Fatalf("timed out while beating: %v", context.Cause(ctx))
	case <-time.After(3 * base): // the scenario's length: three base timeouts
	}
	stop()
	stopped := time.Now()
	done(t, ctx)
	if el := time.Since(stopped); el > base+time.Second {
		t.Errorf("timed out %s after the last beat, want about %s", el, base)
	}
	if c := context.Cause(ctx); !errors.Is(c, ErrTimeout) || !strings.Contains(c.Error(), "no heartbeat for 300ms") {
		t.Errorf("cause = %v, want no heartbeat for 300ms", c)
	}
}

func TestBeatsCappedAtMax(t *testing.T) {
	w := watch(t, 100*time.Millisecond, 300*time.Millisecond)
	start := time.Now()
	ctx, cancel := w.Context(context.Background())
	defer cancel()
	beating(t, w.Path())
	done(t, ctx)
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("ended after %s, before the 300ms maximum", el)
	}
	if c := context.Cause(ctx); !errors.Is(c, ErrTimeout) || !strings.Contains(c.Error(), "maximum of 300ms") {
		t.Errorf("cause = %v, want the maximum reached", c)
	}
}

func TestParentAndCancelEndWithoutTimeout(t *testing.T) {
	w := watch(t, time.Hour, time.Hour)
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, cancel := w.Context(parent)
	defer cancel()
	cancelParent()
	done(t, ctx)
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		t.Error("a cancelled parent reported as a hook timeout")
	}
	ctx2, cancel2 := w.Context(context.Background())
	cancel2()
	done(t, ctx2)
	if errors.Is(context.Cause(ctx2), ErrTimeout) {
		t.Error("cancel reported as a hook timeout")
	}
}

func TestDeadlineFollowsTheFile(t *testing.T) {
	w := watch(t, 10*time.Second, time.Minute)
	t0 := time.Now()
	w.now = func() time.Time { return t0.Add(20 * time.Second) }
	first := w.Deadline()
	beat := t0.Add(15 * time.Second)
	if err := os.Chtimes(w.Path(), beat, beat); err != nil {
		t.Fatal(err)
	}
	if got := w.Deadline(); !got.Equal(beat.Add(10*time.Second)) || !got.After(first) {
		t.Fatalf("deadline after a beat at t0+15s = %s, want t0+25s (was %s)", got.Sub(t0), first.Sub(t0))
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Watch(filepath.Join(t.TempDir(), "b"), 0, time.Minute); err == nil || !strings.Contains(err.Error(), "timeout 0s") {
		t.Errorf("zero timeout: err = %v", err)
	}
	if _, err := Watch(filepath.Join(t.TempDir(), "no", "such", "dir"), time.Second, time.Minute); err == nil {
		t.Error("Watch in a missing directory succeeded")
	}
	missing := filepath.Join(t.TempDir(), "gone")
	if err := Beat(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Beat on a missing file: err = %v, want one naming it", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("Beat created the missing file")
	}
}
