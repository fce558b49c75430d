package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// sameAsDatabase fails unless ListTasks (served from the cache once
// filled) returns exactly what the database holds for service id.
func sameAsDatabase(t *testing.T, s *Store, id int64, step string) {
	t.Helper()
	ctx := context.Background()
	got, err := s.ListTasks(ctx, TaskFilter{ServiceID: id})
	if err != nil {
		t.Fatal(err)
	}
	want, err := listTasks(ctx, s.ops.q, TaskFilter{ServiceID: id})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: service %d: ListTasks\n%+v\nthe database\n%+v", step, id, got, want)
	}
}

func cached(s *Store, id int64) bool {
	_, ok, _ := s.taskRows.get(id)
	return ok
}

func TestTaskCacheFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	web := fixture(t, s)
	worker, err := s.EnsureService(ctx, "shop", "staging", "worker")
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := newRevision(t, s, web.ID), newRevision(t, s, worker.ID)
	check := func(step string) {
		t.Helper()
		sameAsDatabase(t, s, web.ID, step)
		sameAsDatabase(t, s, worker.ID, step)
	}
	check("empty")
	if !cached(s, web.ID) || !cached(s, worker.ID) {
		t.Fatal("a read of an idle service did not fill the cache")
	}

	// Times as callers pass them: another zone, a monotonic reading, more
	// precision than the column keeps is not possible (nanoseconds), so
	// the zone and the reading are what must not leak into the cache.
	local := time.FixedZone("JST", 9*3600)
	code := 3
	for i, id := range []string{"web-b", "web-a", "web-c"} {
		if _, err := s.CreateTask(ctx, Task{ID: id, ServiceID: web.ID, Revision: r1.Number, Driver: "process",
			Handle: fmt.Sprintf(`{"pid":%d}`, 40+i), PID: 40 + i, Port: 41000 + i, StartedAt: time.Now().In(local),
			ExitCode: &code}); err != nil {
			t.Fatal(err)
		}
	}
	code = 99 // the caller's pointer is not the cache's
	if _, err := s.CreateTask(ctx, Task{ID: "worker-a", ServiceID: worker.ID, Revision: r2.Number, Driver: "process"}); err != nil {
		t.Fatal(err)
	}
	check("created")

	cur, err := s.GetTask(ctx, "web-a")
	if err != nil {
		t.Fatal(err)
	}
	cur.State, cur.HealthySince, cur.Addr = TaskHealthy, time.Now(), "127.0.0.1:41001"
	if _, err := s.UpdateTask(ctx, cur); err != nil {
		t.Fatal(err)
	}
	check("updated")
	if _, err := s.SetTaskState(ctx, "web-b", TaskStopped, "exited 1"); err != nil {
		t.Fatal(err)
	}
	check("state set")
	if _, err := s.UpdateTask(ctx, Task{ID: "web-b", State: TaskRunning}); !errors.Is(err, ErrTerminal) {
		t.Fatalf("updating a stopped task: %v, want ErrTerminal", err)
	}
	check("refused update")
	if _, err := s.UpdateTask(ctx, Task{ID: "nope", State: TaskRunning}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("updating a missing task: %v, want ErrNotFound", err)
	}
	// An update keeps what it does not write, and returns it.
	before, _ := s.GetTask(ctx, "web-c")
	out, err := s.UpdateTask(ctx, Task{ID: "web-c", State: TaskRunning})
	if err != nil {
		t.Fatal(err)
	}
	if out.ServiceID != web.ID || out.Revision != r1.Number || out.Generation != before.Generation ||
		!out.CreatedAt.Equal(before.CreatedAt) || out.Handle != "" {
		t.Fatalf("UpdateTask returned %+v; want service %d, revision %d, created %s kept, the handle cleared", out, web.ID,
			r1.Number, before.CreatedAt)
	}
	check("partial update")

	// Several writes in one transaction, then one rolled back.
	err = s.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.SetTaskState(ctx, "web-c", TaskDraining, ""); err != nil {
			return err
		}
		if _, err := tx.CreateTask(ctx, Task{ID: "web-d", ServiceID: web.ID, Revision: r1.Number, Driver: "process"}); err != nil {
			return err
		}
		return tx.DeleteTask(ctx, "web-b")
	})
	if err != nil {
		t.Fatal(err)
	}
	check("one transaction")
	boom := errors.New("boom")
	err = s.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTask(ctx, Task{ID: "web-e", ServiceID: web.ID, Revision: r1.Number, Driver: "process"}); err != nil {
			return err
		}
		if err := tx.DeleteTask(ctx, "web-a"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled back transaction: %v", err)
	}
	check("rolled back")
	if err := s.DeleteTask(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing task: %v", err)
	}
	check("missing delete")

	// A copy handed out is the caller's.
	rows, _ := s.ListTasks(ctx, TaskFilter{ServiceID: web.ID})
	rows[0].State = TaskFailed
	for _, r := range rows {
		if r.ExitCode != nil {
			*r.ExitCode = 7
		}
	}
	check("caller changed its copy")

	// The cascade of a removed environment takes its tasks.
	if err := s.DeleteEnvironment(ctx, "shop", "staging"); err != nil {
		t.Fatal(err)
	}
	check("environment deleted")
	if rows, _ := s.ListTasks(ctx, TaskFilter{ServiceID: web.ID}); rows != nil {
		t.Fatalf("tasks of a deleted environment: %+v", rows)
	}
}

// A read that began before a write committed must not cache what it read:
// a later read would miss the write for good.
func TestTaskCacheFillDoesNotKeepAStaleRead(t *testing.T) {
	var c taskCache
	_, ok, gen := c.get(1)
	if ok {
		t.Fatal("empty cache holds service 1")
	}
	stale := []Task{{ID: "a", ServiceID: 1, State: TaskPending}}
	c.apply([]taskWrite{{row: Task{ID: "a", ServiceID: 1, State: TaskHealthy}}}, false) // committed meanwhile
	c.fill(1, stale, gen)
	if _, ok, _ := c.get(1); ok {
		t.Fatal("a read older than a commit was cached")
	}
	_, _, gen = c.get(1)
	c.fill(1, []Task{{ID: "a", ServiceID: 1, State: TaskHealthy}}, gen)
	if rows, ok, _ := c.get(1); !ok || rows[0].State != TaskHealthy {
		t.Fatalf("a current read was not cached: %v %+v", ok, rows)
	}
	c.apply(nil, true)
	if _, ok, _ := c.get(1); ok {
		t.Fatal("reset kept service 1")
	}
}

// Writers and readers at once (run with -race): once they are done, the
// cache holds what the database does.
func TestTaskCacheUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	rev := newRevision(t, s, svc.ID)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				id := fmt.Sprintf("t-%d-%d", w, i)
				if _, err := s.CreateTask(ctx, Task{ID: id, ServiceID: svc.ID, Revision: rev.Number, Driver: "process"}); err != nil {
					errs <- err
					return
				}
				if _, err := s.SetTaskState(ctx, id, TaskHealthy, ""); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					if err := s.DeleteTask(ctx, id); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := s.ListTasks(ctx, TaskFilter{ServiceID: svc.ID}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sameAsDatabase(t, s, svc.ID, "after concurrent writes")
	rows, _ := s.ListTasks(ctx, TaskFilter{ServiceID: svc.ID})
	if len(rows) != 4*(25-9) {
		t.Fatalf("%d tasks, want %d", len(rows), 4*(25-9))
	}
}
