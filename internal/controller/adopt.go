package controller

import (
	"context"
	"fmt"

	"github.com/ferrycd/ferry/internal/store"
)

// adopt takes over what a previous server left: the ports its tasks hold
// are reserved, and any task a driver runs that the store does not
// know as a live task is stopped. Tasks the store knows are the loops'
// business: their snapshot inspects each handle (pid AND start time), keeps
// the living, records the exit of the dead and re-registers with the router
// what it lost.
func (c *Controller) adopt(ctx context.Context) error {
	rows, err := c.d.Store.ListTasks(ctx, store.TaskFilter{Live: true})
	if err != nil {
		return fmt.Errorf("adopting tasks: %w", err)
	}
	known := map[string]bool{}
	uses := map[string]bool{} // driver names live tasks run on
	for _, r := range rows {
		known[r.ID] = true
		uses[r.Driver] = true
		if r.Port > 0 {
			c.ports.Reserve(r.Port)
		}
	}
	for i, drv := range c.allDrivers() {
		running, err := drv.List(ctx)
		if err != nil {
			// An extra runtime nothing runs on (a Docker engine that is
			// down) must not keep the server from starting.
			if i > 0 && !uses[drv.Name()] {
				c.log.Warn("listing tasks of an unused runtime", "runtime", drv.Name(), "err", err)
				continue
			}
			return fmt.Errorf("adopting tasks: listing %s tasks: %w", drv.Name(), err)
		}
		for _, st := range running {
			if known[st.ID] {
				continue
			}
			c.log.Warn("stopping a task the store does not know", "task", st.ID)
			if err := drv.Stop(ctx, st.Handle, "", 0); err != nil {
				return fmt.Errorf("adopting tasks: stopping unknown task %s: %w", st.ID, err)
			}
			if err := drv.Remove(ctx, st.Handle); err != nil {
				c.log.Warn("removing an unknown task", "task", st.ID, "err", err)
			}
			if _, err := c.d.Store.AppendEvent(ctx, store.Event{Task: st.ID, Type: EventTaskOrphan,
				Message: fmt.Sprintf("%s was running unknown to the store: stopped", st.ID)}); err != nil {
				c.log.Error("appending event", "err", err)
			}
		}
	}
	return nil
}
