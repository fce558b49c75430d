package controller

import (
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// view is what the runtime and the router say of one task.
type view struct {
	// proc is the driver's Inspect; nil when the task has no handle or the
	// driver could not be asked.
	proc *runtime.Status
	// routed tasks get their health from the router; others are healthy
	// while their process runs.
	routed bool
	// routerKnown is false when the router could not be asked: the row's
	// last known state stands.
	routerKnown bool
	// target is the task's entry in the router, nil when absent.
	target *api.TargetStatus
}

// observe merges a task's row (ferry's intents and last observations) with
// what runs, as deploy's doc says: the store gives pending and draining,
// the runtime up or exited, the router health. It returns the engine's view
// and the row as it should now be stored (changed reports a difference).
func observe(row store.Task, v view, now time.Time) (t deploy.Task, next store.Task, changed bool) {
	t = deploy.Task{ID: row.ID, Revision: row.Revision, Generation: row.Generation, StartedAt: row.StartedAt}
	next = row
	set := func(s store.TaskState) {
		if next.State == s {
			return
		}
		if s == store.TaskHealthy {
			next.HealthySince = now
		} else {
			next.HealthySince = time.Time{}
		}
		next.State, changed = s, true
	}
	switch row.State {
	case store.TaskPending:
		t.State = deploy.TaskPending
		return t, next, false
	case store.TaskDraining, store.TaskStopping:
		t.State, t.StopReason = deploy.TaskState(row.State), row.StopReason
		return t, next, false
	case store.TaskStopped, store.TaskFailed:
		t.State = deploy.TaskState(row.State)
		t.Exit = &deploy.Exit{Code: -1, At: row.StoppedAt}
		if row.ExitCode != nil {
			t.Exit.Code = *row.ExitCode
		}
		return t, next, false
	}
	if v.proc != nil && !v.proc.Running {
		code := v.proc.ExitCode
		at := v.proc.ExitedAt
		if at.IsZero() {
			at = now
		}
		t.State, t.Exit = deploy.TaskFailed, &deploy.Exit{Code: code, At: at}
		next.State, next.ExitCode, next.StoppedAt, next.HealthySince = store.TaskFailed, &code, at, time.Time{}
		return t, next, true
	}
	switch {
	case !v.routed:
		set(store.TaskHealthy)
	case !v.routerKnown:
		// Keep the last state the router reported.
	case v.target == nil:
		set(store.TaskStarting)
	case v.target.Health == api.TargetHealthy:
		set(store.TaskHealthy)
	case v.target.Health == api.TargetUnhealthy:
		set(store.TaskUnhealthy)
	default: // initial, or draining a replaced address
		set(store.TaskRunning)
	}
	t.State = deploy.TaskState(next.State)
	if next.State == store.TaskHealthy {
		t.HealthySince = next.HealthySince
	}
	return t, next, changed
}
