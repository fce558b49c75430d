package process

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
)

// BenchmarkStartStop measures the driver's cost per task: validate, start the
// shim, which starts its helper, which execs the task; then SIGTERM and wait
// for the recorded exit. The task is /bin/sleep, so the figure is ferry's
// overhead rather than an app's start-up.
func BenchmarkStartStop(b *testing.B) {
	d := &Driver{Home: testHome(b)}
	ctx := context.Background()
	dir := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		st, err := d.Start(ctx, runtime.TaskSpec{ID: fmt.Sprintf("bench-%d", i), Service: "bench", Dir: dir,
			Command: []string{"sleep", "1000"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Stop(ctx, st.Handle, "SIGTERM", 5*time.Second); err != nil {
			b.Fatal(err)
		}
		if err := d.Remove(ctx, st.Handle); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInspect measures one Inspect of a running task (what a
// reconciler pays per task per pass).
func BenchmarkInspect(b *testing.B) {
	d := &Driver{Home: testHome(b)}
	ctx := context.Background()
	st, err := d.Start(ctx, runtime.TaskSpec{ID: "bench", Service: "bench", Dir: b.TempDir(), Command: []string{"sleep", "1000"}})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Stop(ctx, st.Handle, "SIGKILL", time.Second)
	b.ResetTimer()
	for range b.N {
		if got, err := d.Inspect(ctx, st.Handle); err != nil || !got.Running {
			b.Fatal(got, err)
		}
	}
}
