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
	EventTaskHealthy      = "task.healthy"
	EventTaskExited       = "task.exited"
	EventTaskDrained      = "task.drained"
	EventTaskHook         = "task.hook"
	EventTaskStopped      = "task.stopped"
	EventTaskOrphan       = "task.orphan_stopped"
)

// event appends one trace line about a task of svc, masked with spec's
// secrets; a failure to append is logged, never fatal to the effect.
func (c *Controller) event(ctx context.Context, svc store.Service, spec RevisionSpec, typ, task, format string, args ...any) {
	if err := c.eventIn(ctx, c.d.Store, svc, spec, typ, task, format, args...); err != nil {
		c.log.Error("appending event", "type", typ, "task", task, "err", err)
	}
}

// eventIn is event through w: the store, or a transaction the line must
// commit with.
func (c *Controller) eventIn(ctx context.Context, w eventWriter, svc store.Service, spec RevisionSpec, typ, task, format string, args ...any) error {
	msg := newMasker(spec.secretsFor()).mask(fmt.Sprintf(format, args...))
	_, err := w.AppendEvent(ctx, store.Event{App: svc.App, Env: svc.Env, Service: svc.Name, Task: task, Type: typ, Message: msg})
	return err
}

// eventWriter is *store.Store or *store.Tx.
type eventWriter interface {
	AppendEvent(ctx context.Context, e store.Event) (store.Event, error)
}

func itoa(n int) string { return fmt.Sprint(n) }
