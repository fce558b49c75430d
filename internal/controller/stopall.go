package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ferrycd/ferry/internal/store"
)

// stopAllReason is the stop reason of the tasks StopAll stops.
const stopAllReason = "every task stopped (ferry down --all)"

// StopAll halts the service loops, so nothing replaces a task, then takes
// every live task through the stop effect: deregister and drain, the
// service's pre_stop hook, its stop signal and stop timeout. Desired state
// is kept, so the next Run starts the tasks again; this controller starts
// no loop after it. It returns the ids of the tasks stopped and an *Error
// naming those it could not stop.
func (c *Controller) StopAll(ctx context.Context) ([]string, error) {
	c.halt()
	ids, err := c.stopAll(ctx)
	return ids, failure("stopping every task", masker{}, err)
}

// halt cancels the loops and waits until they and their effects returned.
func (c *Controller) halt() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
}

func (c *Controller) stopAll(ctx context.Context) ([]string, error) {
	var rows []store.Task
	// Every live task is put on the stop path in one transaction; a task
	// already on it (an effect cut short by halt) resumes where it was.
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		live, err := tx.ListTasks(ctx, store.TaskFilter{Live: true})
		if err != nil {
			return err
		}
		rows = live
		for i, t := range live {
			switch {
			case t.State == store.TaskFailed:
				t.State = store.TaskStopping // exited: nothing to drain or hook
			case t.State == store.TaskPending || isLaunched(t.State):
				t.State = store.TaskDraining
			default:
				continue
			}
			t.StopReason = stopAllReason
			if rows[i], err = tx.UpdateTask(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal("recording the tasks to stop", err)
	}
	var wg sync.WaitGroup
	for _, t := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop(ctx, t.ServiceID, t.ID)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		stopped []string
		failed  []error
	)
	for _, t := range rows {
		cur, err := c.d.Store.GetTask(ctx, t.ID)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && cur.State == store.TaskStopped):
			stopped = append(stopped, t.ID)
		case err != nil:
			return stopped, internal("reading the stopped tasks", err)
		default:
			failed = append(failed, fmt.Errorf("task %s is still %s", t.ID, cur.State))
		}
	}
	if len(failed) > 0 {
		return stopped, &Error{Msg: fmt.Sprintf("%d of %d tasks could not be stopped", len(failed), len(rows)),
			Cause: errors.Join(failed...).Error()}
	}
	return stopped, nil
}
