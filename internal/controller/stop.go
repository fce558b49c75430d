package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// stop takes a draining task through DESIGN.md's order: router RemoveTarget
// (returns once drained) → pre_stop hook → stop signal, SIGKILL after the
// stop timeout → row stopped → driver Remove. Each stage is persisted, so a
// restarted server resumes where this one was.
func (c *Controller) stop(ctx context.Context, serviceID int64, id string) {
	c.stopIn(ctx, serviceID, id, "")
}

// stopIn is stop for a task known to be in router group group ("": ask the
// router). done reports whether the task is stopped (or was already): false
// leaves a stop the loop must restate.
func (c *Controller) stopIn(ctx context.Context, serviceID int64, id, group string) (done bool) {
	// Tasks of this service being launched go first. On a rolling deploy
	// they start in the very pass that stops the tasks they replace, and
	// everything a stop does competes with them: its deregistration with
	// their registrations for the router's durable write, its records with
	// theirs for the store's, its task's exit (the kernel reaping it) with
	// their start-up for the CPU. Meanwhile the task still serves, as it did
	// a moment before: the new tasks are healthy already.
	c.launches.wait(ctx, serviceID, launchFirst)
	row, err := c.d.Store.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	if err != nil {
		return false
	}
	if row.State != store.TaskDraining && row.State != store.TaskStopping {
		return true
	}
	svc, err := c.d.Store.GetService(ctx, serviceID)
	if err != nil {
		return false
	}
	spec, routed := c.isRouted(ctx, row)
	if row.Handle == "" {
		// Never launched: nothing runs, nothing to drain.
		return c.setStopped(ctx, id, nil, nil)
	}
	c.unregistered(id)
	if row.State == store.TaskDraining {
		drained := "" // the trace line of the drain, written with the next state
		if routed {
			if group == "" {
				group = c.groupOf(ctx, svc, id)
			}
			res, err := c.d.Router.RemoveTarget(ctx, routerName(svc), group, id)
			switch {
			case errors.Is(err, client.ErrNotFound):
			case err != nil:
				// Never signal a task the router may still send traffic to:
				// the stop is restated and retried.
				c.log.Warn("deregistering a task; will retry", "task", id, "err", err)
				return false
			default:
				drained = fmt.Sprintf("%s deregistered and drained in %s (%d requests finished, %d cut)",
					id, res.Duration.Round(time.Millisecond), res.Drained, res.Cut)
			}
		}
		if preStopHook(spec) != nil {
			// The hook's line comes after the drain's.
			if drained != "" {
				c.event(ctx, svc, spec, EventTaskDrained, id, "%s", drained)
				drained = ""
			}
			c.preStop(ctx, svc, spec, row)
		}
		err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.SetTaskState(ctx, id, store.TaskStopping, ""); err != nil {
				return err
			}
			if drained != "" {
				return c.eventIn(ctx, tx, svc, spec, EventTaskDrained, id, "%s", drained)
			}
			return nil
		})
		if err != nil {
			c.log.Error("recording a stopping task", "task", id, "err", err)
			return false
		}
	}
	drv := c.driverOf(row)
	if err := drv.Stop(ctx, row.Handle, spec.Spec.StopSignal, spec.stopTimeout()); err != nil {
		if ctx.Err() == nil {
			c.log.Error("stopping a task; will retry", "task", id, "err", err)
		}
		return false
	}
	var code *int
	if st, err := drv.Inspect(ctx, row.Handle); err == nil && !st.Running && st.ExitCode >= 0 {
		code = &st.ExitCode
	}
	stopped := func(tx *store.Tx) error {
		return c.eventIn(ctx, tx, svc, spec, EventTaskStopped, id, "%s stopped (%s)", id, exitWords(code))
	}
	if !c.setStopped(ctx, id, code, stopped) {
		return false
	}
	if err := drv.Remove(ctx, row.Handle); err != nil {
		c.log.Warn("removing a stopped task", "task", id, "err", err)
	}
	c.ports.Release(row.Port)
	return true
}

// groupOf is the router group target id is in (the rolling group when the
// router does not say).
func (c *Controller) groupOf(ctx context.Context, svc store.Service, id string) string {
	if st, err := c.d.Router.Service(ctx, routerName(svc)); err == nil {
		for _, g := range st.Groups {
			for _, t := range g.Targets {
				if t.ID == id {
					return g.Name
				}
			}
		}
	}
	return deploy.RollingGroup
}

// setStopped records a task stopped with its exit code (nil: unknown), and
// runs also, when given, in the same transaction.
func (c *Controller) setStopped(ctx context.Context, id string, code *int, also func(*store.Tx) error) bool {
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		cur, err := tx.GetTask(ctx, id)
		if err != nil {
			return err
		}
		cur.State, cur.ExitCode, cur.StoppedAt, cur.HealthySince = store.TaskStopped, code, c.now(), time.Time{}
		if _, err = tx.UpdateTask(ctx, cur); err != nil || also == nil {
			return err
		}
		return also(tx)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrTerminal) {
		c.log.Error("recording a stopped task", "task", id, "err", err)
		return false
	}
	return true
}

// maxHookOutput bounds the hook output kept in the trace.
const maxHookOutput = 2048

// preStopHook is the service's pre_stop hook, nil when it has none.
func preStopHook(spec RevisionSpec) *config.Hook {
	if h := spec.Spec.Hooks.PreStop; h != nil && len(h.Command) > 0 {
		return h
	}
	return nil
}

// preStop runs the service's pre_stop hook in the task with its timeout,
// which the hook's heartbeats extend. Its failure is reported and does not
// block the stop.
func (c *Controller) preStop(ctx context.Context, svc store.Service, spec RevisionSpec, row store.Task) {
	h := preStopHook(spec)
	if h == nil {
		return
	}
	env := []string{"FERRY_SERVICE=" + svc.Name, "FERRY_REVISION=" + itoa(row.Revision), "FERRY_TASK_ID=" + row.ID}
	_, result, text := c.execInTask(ctx, c.driverOf(row), row.Handle, row.ID, "pre_stop", env, h.Command, h.Timeout)
	c.event(ctx, svc, spec, EventTaskHook, row.ID, "%s pre_stop hook %s%s", row.ID, result, outputSuffix(text))
}

// forget removes what the driver keeps of a task whose row the engine
// deleted.
func (c *Controller) forget(ctx context.Context, row store.Task) {
	c.unregistered(row.ID)
	if row.State == store.TaskFailed {
		svc, err := c.d.Store.GetService(ctx, row.ServiceID)
		if err == nil {
			c.exited(ctx, svc, row)
		}
	}
	if row.Handle != "" {
		if err := c.driverOf(row).Remove(ctx, row.Handle); err != nil {
			c.log.Warn("removing a forgotten task", "task", row.ID, "err", err)
		}
	}
	c.ports.Release(row.Port)
}

// exitTail is how many lines of a failed task's output go into the trace.
const exitTail = 5

// exited puts the end of a failed task's output into the trace: why it
// crashed, without anyone reading log files.
func (c *Controller) exited(ctx context.Context, svc store.Service, row store.Task) {
	spec, _ := c.spec(ctx, svc.ID, row.Revision)
	why := row.LastError
	if row.Handle != "" {
		if rc, err := c.driverOf(row).Logs(ctx, row.Handle, runtime.LogOptions{Tail: exitTail}); err == nil {
			var b bytes.Buffer
			b.ReadFrom(rc)
			rc.Close()
			why = strings.TrimSpace(b.String())
		}
	}
	c.event(ctx, svc, spec, EventTaskExited, row.ID, "%s (r%d) exited (%s)%s", row.ID, row.Revision, exitWords(row.ExitCode), outputSuffix(why))
}

func exitWords(code *int) string {
	if code == nil || *code < 0 {
		return "exit status unknown"
	}
	return "exit code " + itoa(*code)
}

func outputSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}
