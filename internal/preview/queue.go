package preview

import (
	"context"
	"time"

	"github.com/ferrycd/ferry/internal/store"
)

// Delivery retries: a transient failure (the store, the controller busy)
// is tried again with doubling delays, up to maxAttempts in all.
const (
	maxAttempts  = 8
	firstBackoff = 2 * time.Second
	maxBackoff   = 5 * time.Minute
)

// backoff is the delay before attempt n+1 after n failed attempts.
func backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// Kick wakes the queue worker: a delivery was just enqueued.
func (m *Manager) Kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// drain processes due deliveries, oldest first, until ctx ends. A
// delivery is marked done only after it was acted on, so one cut short by
// a restart is processed again. The queue runs on the wall clock, as the
// store stamps deliveries with it.
func (m *Manager) drain(ctx context.Context) {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			due, err := m.cfg.Store.DueDeliveries(ctx, time.Now(), 1)
			if err != nil {
				m.log.Warn("delivery queue", "err", err)
				break
			}
			if len(due) == 0 {
				break
			}
			m.process(ctx, due[0])
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
		}
	}
}

func (m *Manager) process(ctx context.Context, d store.Delivery) {
	err := m.HandleDelivery(ctx, d)
	if ctx.Err() != nil {
		return // shutting down: the delivery stays queued for the next start
	}
	state, next, msg := store.DeliveryDone, time.Time{}, ""
	switch {
	case err == nil:
	case IsPermanent(err) || d.Attempts+1 >= maxAttempts:
		state, msg = store.DeliveryFailed, err.Error()
	default:
		state, next, msg = store.DeliveryQueued, time.Now().Add(backoff(d.Attempts+1)), err.Error()
	}
	if err != nil {
		m.log.Warn("delivery", "id", d.DeliveryID, "event", d.Event, "state", state, "err", msg)
	}
	if _, err := m.cfg.Store.RecordDeliveryAttempt(ctx, d.DeliveryID, state, next, msg); err != nil {
		m.log.Warn("delivery queue", "id", d.DeliveryID, "err", err)
	}
}
