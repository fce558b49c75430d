package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// Hook runs the engine asked for (launch, before_traffic, after_traffic)
// are kept per service in one meta value: the record transaction adds a
// run in state running, the run's effect writes its result, each in its
// own transaction, so neither overwrites the other.
type hookDoc struct {
	Runs []deploy.HookRun `json:"runs"`
}

func hooksKey(serviceID int64) string { return fmt.Sprintf("controller/hooks/%d", serviceID) }

func loadHooks(ctx context.Context, s metaReader, serviceID int64) (hookDoc, error) {
	var doc hookDoc
	v, err := s.GetMeta(ctx, hooksKey(serviceID))
	if errors.Is(err, store.ErrNotFound) {
		return doc, nil
	}
	if err != nil {
		return doc, err
	}
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return doc, fmt.Errorf("meta %s: %w", hooksKey(serviceID), err)
	}
	return doc, nil
}

func (doc hookDoc) save(ctx context.Context, tx *store.Tx, serviceID int64) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return tx.SetMeta(ctx, hooksKey(serviceID), string(b))
}

// sameRun reports whether r is the run a RunHook asks for: launch runs are
// keyed by task, deployment hooks by deployment.
func sameRun(r deploy.HookRun, hook deploy.HookName, dep, task string) bool {
	if r.Hook != hook {
		return false
	}
	if hook == deploy.HookLaunch {
		return r.Task == task
	}
	return r.Deployment == dep
}

// hookRuns are the runs still relevant: of present tasks (launch) and of
// deployments in flight.
func (c *Controller) hookRuns(ctx context.Context, serviceID int64, deps map[string]store.Deployment, rows []store.Task) ([]deploy.HookRun, error) {
	doc, err := loadHooks(ctx, c.d.Store, serviceID)
	if err != nil {
		return nil, err
	}
	present := map[string]bool{}
	for _, r := range rows {
		present[r.ID] = true
	}
	var out []deploy.HookRun
	for _, r := range doc.Runs {
		if _, inFlight := deps[r.Deployment]; (r.Hook == deploy.HookLaunch && present[r.Task]) || (r.Hook != deploy.HookLaunch && inFlight) {
			out = append(out, r)
		}
	}
	return out, nil
}

// recordHookRun adds a running run for a, unless there is one, and drops
// the runs no longer relevant.
func recordHookRun(ctx context.Context, tx *store.Tx, sn *snapshot, a deploy.RunHook) (bool, error) {
	doc, err := loadHooks(ctx, tx, sn.svc.ID)
	if err != nil {
		return false, err
	}
	for _, r := range doc.Runs {
		if sameRun(r, a.Hook, a.Deployment, a.Task) {
			return false, nil
		}
	}
	keep := doc.Runs[:0]
	for _, r := range doc.Runs {
		if _, inFlight := sn.deps[r.Deployment]; (r.Hook == deploy.HookLaunch && sn.rows[r.Task].ID != "") || (r.Hook != deploy.HookLaunch && inFlight) {
			keep = append(keep, r)
		}
	}
	doc.Runs = append(keep, deploy.HookRun{Hook: a.Hook, Deployment: a.Deployment, Task: a.Task, State: deploy.HookRunning})
	return true, doc.save(ctx, tx, sn.svc.ID)
}

// runHook runs a hook in its task with the task's environment plus
// FERRY_HOOK, FERRY_DEPLOYMENT_ID, FERRY_SERVICE and FERRY_REVISION,
// bounded by its timeout; its output goes into the trace and its result
// into the hook's run.
func (c *Controller) runHook(ctx context.Context, svc store.Service, a deploy.RunHook) {
	spec, err := c.spec(ctx, svc.ID, a.Revision)
	if err != nil {
		return
	}
	h := spec.hook(a.Hook)
	state, msg := deploy.HookPassed, ""
	switch row, err := c.d.Store.GetTask(ctx, a.Task); {
	case h == nil || len(h.Command) == 0:
	case err != nil || row.Handle == "":
		state, msg = deploy.HookFailed, fmt.Sprintf("task %s is not running", a.Task)
	default:
		state, msg = c.execHook(ctx, svc, spec, row, a, h.Command, h.Timeout)
	}
	if ctx.Err() != nil {
		return // the server stops: the run stays running and is restated
	}
	err = c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		doc, err := loadHooks(ctx, tx, svc.ID)
		if err != nil {
			return err
		}
		for i, r := range doc.Runs {
			if sameRun(r, a.Hook, a.Deployment, a.Task) {
				doc.Runs[i].State, doc.Runs[i].Message = state, newMasker(spec.secretsFor()).mask(msg)
			}
		}
		return doc.save(ctx, tx, svc.ID)
	})
	if err != nil {
		c.log.Error("recording a hook's result", "hook", a.Hook, "task", a.Task, "err", err)
	}
}

func (c *Controller) execHook(ctx context.Context, svc store.Service, spec RevisionSpec, row store.Task, a deploy.RunHook,
	command []string, timeout time.Duration) (deploy.HookState, string) {
	env := []string{"FERRY_DEPLOYMENT_ID=" + a.Deployment, "FERRY_SERVICE=" + svc.Name, "FERRY_REVISION=" + itoa(a.Revision),
		"FERRY_TASK_ID=" + row.ID}
	ok, result, text := c.execInTask(ctx, c.driverOf(row), row.Handle, row.ID, string(a.Hook), env, command, timeout)
	state := deploy.HookPassed
	if !ok {
		state = deploy.HookFailed
	}
	c.hookEvent(ctx, svc, spec, a, "%s hook %s in %s%s", a.Hook, result, row.ID, outputSuffix(text))
	return state, result
}

// hookEvent appends a hook's trace line, scoped to its deployment.
func (c *Controller) hookEvent(ctx context.Context, svc store.Service, spec RevisionSpec, a deploy.RunHook, format string, args ...any) {
	msg := newMasker(spec.secretsFor()).mask(fmt.Sprintf(format, args...))
	if _, err := c.d.Store.AppendEvent(ctx, store.Event{App: svc.App, Env: svc.Env, Service: svc.Name, Task: a.Task,
		Deployment: parseDepID(a.Deployment), Type: EventTaskHook, Message: msg}); err != nil {
		c.log.Error("appending event", "type", EventTaskHook, "task", a.Task, "err", err)
	}
}
