package store

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// taskCache holds services' task rows as ListTasks returns them, so that a
// reconciler listing a service's tasks on every pass does not run and scan
// the query each time: at 50 tasks it was a third of a pass, and a pass runs
// on every change a deployment makes. Only the server opens the store and
// every write to tasks goes through this Store's writer, so the cache is
// kept current by write-through: each committed transaction applies the
// task rows it wrote, as a read would return them. A transaction that fails
// or rolls back applies nothing; one whose commit fails empties the cache.
type taskCache struct {
	mu  sync.Mutex
	gen uint64           // moves with every applied write: a fill read before it is stale
	svc map[int64][]Task // by service id, ordered as ListTasks orders them
}

// taskWrite is one task row a transaction wrote: the row as stored, or the
// id of a deleted one.
type taskWrite struct {
	row     Task
	deleted bool
}

// get returns a copy of service id's rows and true when they are cached;
// otherwise the generation a fill must see unchanged to be kept.
func (c *taskCache) get(id int64) ([]Task, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows, ok := c.svc[id]
	if !ok {
		return nil, false, c.gen
	}
	return cloneTasks(rows), true, c.gen
}

// fill caches rows read from the database for service id, unless a write
// was applied since the read began (gen): the rows may predate it.
func (c *taskCache) fill(id int64, rows []Task, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.svc == nil {
		c.svc = map[int64][]Task{}
	}
	c.svc[id] = cloneTasks(rows)
}

// apply brings the cached services up to a commit's writes. reset (a
// cascade removed rows no write lists, or a commit failed) empties the
// cache, and the writes then find no service to change: whatever their
// order against the reset in a group commit, the cache ends empty.
func (c *taskCache) apply(writes []taskWrite, reset bool) {
	if len(writes) == 0 && !reset {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if reset {
		c.svc = nil
	}
	for _, w := range writes {
		if w.deleted {
			for id, rows := range c.svc {
				if i := slices.IndexFunc(rows, func(t Task) bool { return t.ID == w.row.ID }); i >= 0 {
					c.svc[id] = slices.Delete(rows, i, i+1)
					break
				}
			}
			continue
		}
		rows, ok := c.svc[w.row.ServiceID]
		if !ok {
			continue // not cached: the next read fills it
		}
		if i := slices.IndexFunc(rows, func(t Task) bool { return t.ID == w.row.ID }); i >= 0 {
			rows[i] = w.row
			continue
		}
		i, _ := slices.BinarySearchFunc(rows, w.row, compareTaskOrder)
		c.svc[w.row.ServiceID] = slices.Insert(rows, i, w.row)
	}
}

// compareTaskOrder is ListTasks' ORDER BY created_at, id (the stored time
// text is fixed-width, so its order is the times').
func compareTaskOrder(a, b Task) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// asStored is t as a read returns it: times at the column's precision, in
// UTC, without a monotonic reading; its own exit code pointer.
func asStored(t Task) Task {
	for _, p := range []*time.Time{&t.StartedAt, &t.StoppedAt, &t.HealthySince, &t.CreatedAt, &t.UpdatedAt} {
		if err := (timeCol{p}).Scan(tval(*p)); err != nil {
			*p = time.Time{} // not reached: tval writes what Scan reads
		}
	}
	if t.ExitCode != nil {
		code := *t.ExitCode
		t.ExitCode = &code
	}
	return t
}

// cloneTasks copies rows so that callers cannot reach the cache (nil when
// empty, as a read of no rows returns).
func cloneTasks(rows []Task) []Task {
	if len(rows) == 0 {
		return nil
	}
	out := slices.Clone(rows)
	for i := range out {
		if out[i].ExitCode != nil {
			code := *out[i].ExitCode
			out[i].ExitCode = &code
		}
	}
	return out
}

// noteTask records, in a transaction, a task row it wrote.
func (t *Tx) noteTask(row Task) { t.tasks = append(t.tasks, taskWrite{row: asStored(row)}) }

// noteTaskDeleted records, in a transaction, a task row it deleted.
func (t *Tx) noteTaskDeleted(id string) {
	t.tasks = append(t.tasks, taskWrite{row: Task{ID: id}, deleted: true})
}

// serviceTasks is ListTasks for one whole service, from the cache when it
// holds the service.
func (s *Store) serviceTasks(ctx context.Context, serviceID int64) ([]Task, error) {
	rows, ok, gen := s.taskRows.get(serviceID)
	if ok {
		return rows, nil
	}
	rows, err := listTasks(ctx, s.ops.q, TaskFilter{ServiceID: serviceID})
	if err == nil {
		s.taskRows.fill(serviceID, rows, gen)
	}
	return rows, err
}
