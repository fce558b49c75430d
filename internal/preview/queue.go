package preview

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/ferrycd/ferry/internal/github"
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

// Deliveries run concurrently, up to Config.Workers at once, so that a
// slow build of one pull request does not hold up every other preview.
// Deliveries that touch the same thing keep their order: each has keys
// (deliveryKeys), and one starts only when no running delivery, nor an
// older due one still waiting, shares a key with it. A pull request's
// events therefore apply in the order GitHub sent them, and a deleted
// branch's previews are destroyed after the events of its pull requests
// that came before.

// scanLimit bounds how many due deliveries one look at the queue reads; a
// delivery beyond them waits until earlier ones are done.
const scanLimit = 500

// deliveryKeys names what a delivery acts on, for ordering: a pull
// request and its head branch, a deleted branch, or a repository's
// default-branch deploys. A delivery that does not parse acts on nothing
// (it fails at once).
func deliveryKeys(d store.Delivery) []string {
	ev, err := github.Parse(d.Event, d.Payload)
	if err != nil {
		return nil
	}
	branch := "branch:" + ev.Repo + "@" + ev.Branch
	switch {
	case ev.Kind == github.KindPullRequest:
		return []string{"pr:" + ev.Repo + "#" + strconv.Itoa(ev.PR), branch}
	case ev.Kind == github.KindPush && ev.Branch != "" && ev.Deleted:
		return []string{branch}
	case ev.Kind == github.KindPush && ev.Branch != "":
		return []string{"push:" + ev.Repo}
	}
	return nil
}

// queueState is what drain knows of the deliveries it started.
type queueState struct {
	mu      sync.Mutex
	running map[string]bool // delivery ids
	held    map[string]int  // keys of running deliveries
	// keys are the keys of deliveries seen due, by id, until they are
	// processed: a look at the queue would otherwise parse every waiting
	// payload again, and deliveries of one pull request, run one at a
	// time, would parse the whole queue once each.
	keys map[string][]string
}

// keysOf returns d's keys, parsing its payload the first time.
func (q *queueState) keysOf(d store.Delivery) []string {
	k, ok := q.keys[d.DeliveryID]
	if !ok {
		k = deliveryKeys(d)
		q.keys[d.DeliveryID] = k
	}
	return k
}

// drain processes due deliveries, oldest first and several at once (see
// above), until ctx ends; it returns once the deliveries it started have
// returned. A delivery is marked done only after it was acted on, so one
// cut short by a restart is processed again. The queue runs on the wall
// clock, as the store stamps deliveries with it.
func (m *Manager) drain(ctx context.Context) {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	q := &queueState{running: map[string]bool{}, held: map[string]int{}, keys: map[string][]string{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if ctx.Err() == nil {
			m.startDue(ctx, q, &wg)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
		}
	}
}

// startDue starts the due deliveries that may start now. It reads the
// queue with q locked: a delivery that ends meanwhile has recorded its
// attempt before it leaves q.running, so a read that still saw it queued
// also sees it running, and it is not started twice.
func (m *Manager) startDue(ctx context.Context, q *queueState, wg *sync.WaitGroup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	free := m.cfg.Workers - len(q.running)
	if free <= 0 {
		return
	}
	due, err := m.cfg.Store.DueDeliveries(ctx, time.Now(), scanLimit)
	if err != nil {
		m.log.Warn("delivery queue", "err", err)
		return
	}
	waiting := map[string]bool{} // keys of older deliveries not started
	for _, d := range due {
		if free == 0 {
			return
		}
		if q.running[d.DeliveryID] {
			continue
		}
		keys := q.keysOf(d)
		blocked := false
		for _, k := range keys {
			blocked = blocked || q.held[k] > 0 || waiting[k]
		}
		if blocked {
			for _, k := range keys {
				waiting[k] = true
			}
			continue
		}
		free--
		q.running[d.DeliveryID] = true
		for _, k := range keys {
			q.held[k]++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.process(ctx, d)
			q.mu.Lock()
			delete(q.running, d.DeliveryID)
			delete(q.keys, d.DeliveryID)
			for _, k := range keys {
				if q.held[k]--; q.held[k] == 0 {
					delete(q.held, k)
				}
			}
			q.mu.Unlock()
			m.Kick() // what waited on it may start
		}()
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
