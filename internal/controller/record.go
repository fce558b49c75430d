package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// errStale aborts a record whose snapshot an effect has overtaken.
var errStale = errors.New("snapshot is stale")

// recorded is what record did, for perform.
type recorded struct {
	// changed is false when the plan only restated effects: the loop then
	// waits instead of reconciling again at once.
	changed bool
	// forgotten rows, whose driver state perform removes.
	forgotten map[string]store.Task
	// ended is set when a deployment reached a terminal state.
	ended bool
	// notices are the deployment events to send once committed.
	notices []notice
}

// record writes the snapshot's observations and every decision of plan in
// one store transaction, before anything is done.
func (c *Controller) record(ctx context.Context, sn *snapshot, plan deploy.Plan) (recorded, error) {
	out := recorded{forgotten: map[string]store.Task{}}
	masks := c.maskerFor(ctx, sn)
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		out = recorded{forgotten: map[string]store.Task{}}
		exec := sn.exec
		execDirty := false
		// Effects update rows concurrently: a row that changed since the
		// snapshot makes the whole plan stale, to be derived again.
		fresh := func(id string) error {
			cur, err := tx.GetTask(ctx, id)
			if err != nil {
				return err
			}
			if !cur.UpdatedAt.Equal(sn.rows[id].UpdatedAt) {
				return errStale
			}
			return nil
		}
		for id, row := range sn.next {
			if err := fresh(id); err != nil {
				return err
			}
			if _, err := tx.UpdateTask(ctx, row); err != nil {
				return err
			}
			if row.State == store.TaskHealthy && sn.rows[id].State != store.TaskHealthy {
				if err := healthyEvent(ctx, tx, sn, row); err != nil {
					return err
				}
			}
			out.changed = true
		}
		rowState := func(id string) (store.Task, bool) {
			if r, ok := sn.next[id]; ok {
				return r, true
			}
			r, ok := sn.rows[id]
			return r, ok
		}
		for _, a := range plan.Actions {
			switch a := a.(type) {
			case deploy.StartTask:
				if _, ok := rowState(a.ID); ok {
					continue // restated: the row is there
				}
				if _, err := tx.CreateTask(ctx, store.Task{ID: a.ID, ServiceID: sn.svc.ID, Revision: a.Revision,
					Generation: a.Generation, State: store.TaskPending, Driver: c.d.Driver.Name()}); err != nil {
					return err
				}
				out.changed = true
			case deploy.StopTask:
				row, ok := rowState(a.ID)
				if !ok || row.State == store.TaskDraining || row.State == store.TaskStopping || row.State == store.TaskStopped {
					continue
				}
				if _, isNext := sn.next[a.ID]; !isNext {
					if err := fresh(a.ID); err != nil {
						return err
					}
				}
				row.State, row.StopReason = store.TaskDraining, a.Reason
				if _, err := tx.UpdateTask(ctx, row); err != nil {
					return err
				}
				out.changed = true
			case deploy.ForgetTask:
				row, ok := rowState(a.ID)
				if !ok {
					continue
				}
				if err := tx.DeleteTask(ctx, a.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				out.forgotten[a.ID] = row
				out.changed = true
			case deploy.SetService:
				exec.Status = a.Status
				execDirty, out.changed = true, true
				state, msg := "", ""
				if a.Status.CrashLoop {
					state = "crash_loop"
					msg = fmt.Sprintf("crash loop: %d failures in a row", a.Status.Crashes)
				}
				if state != sn.svc.State || msg != sn.svc.Message {
					if _, err := tx.SetServiceState(ctx, sn.svc.ID, state, msg); err != nil {
						return err
					}
				}
			case deploy.RunHook:
				added, err := recordHookRun(ctx, tx, sn, a)
				if err != nil {
					return err
				}
				out.changed = out.changed || added
			case deploy.SetDeployment:
				if _, ok := sn.deps[a.ID]; !ok {
					return fmt.Errorf("plan sets deployment %s, which is not in flight", a.ID)
				}
				// Read again: the API may have written the operator's
				// controls since the snapshot; they must survive.
				row, err := tx.GetDeployment(ctx, parseDepID(a.ID))
				if err != nil {
					return err
				}
				a.Status.Reason = masks.mask(a.Status.Reason)
				before := row
				row, err = applyStatus(row, a.Status)
				if err != nil {
					return err
				}
				if _, err := tx.UpdateDeployment(ctx, row); err != nil {
					return err
				}
				out.notices = append(out.notices, notices(sn.svc, before, row)...)
				out.changed = true
				out.ended = out.ended || a.Status.State.Done()
			case deploy.SetLive:
				if _, err := tx.SetLiveRevision(ctx, sn.svc.ID, a.Revision); err != nil {
					return err
				}
				out.changed = true
			case deploy.Event:
				if _, err := tx.AppendEvent(ctx, store.Event{App: sn.svc.App, Env: sn.svc.Env, Service: sn.svc.Name,
					Deployment: parseDepID(a.Deployment), Task: a.Task, Type: string(a.Type),
					Message: masks.mask(a.Message)}); err != nil {
					return err
				}
				out.changed = true
			}
		}
		if execDirty {
			return exec.save(ctx, tx, sn.svc.ID)
		}
		return nil
	})
	return out, err
}

// healthyEvent traces a task turning healthy: it passed its health check
// (or, for a task no router checks, its process runs), under the
// deployment that started it when one is in flight.
func healthyEvent(ctx context.Context, tx *store.Tx, sn *snapshot, t store.Task) error {
	var dep int64
	for _, d := range sn.deps {
		if d.ToRevision == t.Revision {
			dep = d.ID
		}
	}
	_, err := tx.AppendEvent(ctx, store.Event{App: sn.svc.App, Env: sn.svc.Env, Service: sn.svc.Name, Deployment: dep,
		Task: t.ID, Type: EventTaskHealthy, Message: fmt.Sprintf("%s (r%d) is healthy", t.ID, t.Revision)})
	return err
}

// maskerFor masks the secrets of every revision the snapshot's tasks and
// deployments run.
func (c *Controller) maskerFor(ctx context.Context, sn *snapshot) masker {
	revs := map[int]bool{sn.svc.LiveRevision: true}
	for _, t := range sn.rows {
		revs[t.Revision] = true
	}
	for _, d := range sn.deps {
		revs[d.ToRevision] = true
	}
	var secrets [][]string
	for r := range revs {
		if r == 0 {
			continue
		}
		if s, err := c.spec(ctx, sn.svc.ID, r); err == nil {
			secrets = append(secrets, s.secretsFor())
		}
	}
	return newMasker(secrets...)
}
