package controller

import (
	"context"
	"fmt"

	"github.com/ferrycd/ferry/internal/store"
)

// Event types of the executor's own trace lines; the engine's decisions
// carry deploy's types.
const (
	EventTaskLaunched     = "task.launched"
	EventTaskLaunchFailed = "task.launch_failed"
	EventTaskRegistered   = "task.registered"
	EventTaskExited       = "task.exited"
	EventTaskDrained      = "task.drained"
	EventTaskHook         = "task.hook"
	EventTaskStopped      = "task.stopped"
	EventTaskOrphan       = "task.orphan_stopped"
)

// event appends one trace line about a task of svc, masked with spec's
// secrets; a failure to append is logged, never fatal to the effect.
func (c *Controller) event(ctx context.Context, svc store.Service, spec RevisionSpec, typ, task, format string, args ...any) {
	msg := newMasker(spec.secretsFor()).mask(fmt.Sprintf(format, args...))
	if _, err := c.d.Store.AppendEvent(ctx, store.Event{App: svc.App, Env: svc.Env, Service: svc.Name, Task: task,
		Type: typ, Message: msg}); err != nil {
		c.log.Error("appending event", "type", typ, "task", task, "err", err)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
