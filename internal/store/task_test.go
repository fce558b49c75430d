package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWithTaskState(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	for _, tc := range []struct {
		name                string
		from                Task
		to                  TaskState
		healthySince, stops time.Time
	}{
		{"becomes healthy", Task{State: TaskRunning}, TaskHealthy, t1, time.Time{}},
		{"stays healthy keeps since", Task{State: TaskHealthy, HealthySince: t0}, TaskHealthy, t0, time.Time{}},
		{"unhealthy clears since", Task{State: TaskHealthy, HealthySince: t0}, TaskUnhealthy, time.Time{}, time.Time{}},
		{"draining clears since", Task{State: TaskHealthy, HealthySince: t0}, TaskDraining, time.Time{}, time.Time{}},
		{"stopped sets stopped_at", Task{State: TaskStopping}, TaskStopped, time.Time{}, t1},
		{"failed sets stopped_at", Task{State: TaskRunning}, TaskFailed, time.Time{}, t1},
		{"failed again keeps first stop", Task{State: TaskFailed, StoppedAt: t0}, TaskFailed, time.Time{}, t0},
		{"restart after failure clears stop", Task{State: TaskFailed, StoppedAt: t0}, TaskStarting, time.Time{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withTaskState(tc.from, tc.to, t1)
			if got.State != tc.to || !got.HealthySince.Equal(tc.healthySince) || !got.StoppedAt.Equal(tc.stops) {
				t.Fatalf("got state %s healthy_since %v stopped_at %v", got.State, got.HealthySince, got.StoppedAt)
			}
		})
	}
}

func TestTasks(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	r1 := newRevision(t, s, svc.ID)
	r2 := newRevision(t, s, svc.ID)
	started := time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)
	in := Task{ID: "web-r1-a", ServiceID: svc.ID, Revision: r1.Number, Driver: "process", Handle: `{"pid":42}`,
		PID: 42, ProcessStart: 123456, Port: 40001, Addr: "127.0.0.1:40001", StartedAt: started}
	if _, err := s.CreateTask(ctx, in); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"web-r1-b", "web-r2-a"} {
		rev := r1.Number
		if id == "web-r2-a" {
			rev = r2.Number
		}
		if _, err := s.CreateTask(ctx, Task{ID: id, ServiceID: svc.ID, Revision: rev, Driver: "process"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetTask(ctx, "web-r1-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != TaskPending || got.PID != 42 || got.ProcessStart != 123456 || got.Port != 40001 ||
		got.Addr != in.Addr || !got.StartedAt.Equal(started) || got.ExitCode != nil || got.Handle != in.Handle {
		t.Fatalf("round trip: %+v", got)
	}

	if _, err := s.SetTaskState(ctx, "web-r1-a", TaskHealthy, ""); err != nil {
		t.Fatal(err)
	}
	code := 0
	b, _ := s.GetTask(ctx, "web-r1-b")
	b.State, b.ExitCode, b.LastError, b.Restarts = TaskStopped, &code, "exited", 2
	if _, err := s.UpdateTask(ctx, b); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		f    TaskFilter
		want []string
	}{
		{"service", TaskFilter{ServiceID: svc.ID}, []string{"web-r1-a", "web-r1-b", "web-r2-a"}},
		{"revision", TaskFilter{ServiceID: svc.ID, Revision: r1.Number}, []string{"web-r1-a", "web-r1-b"}},
		{"state", TaskFilter{States: []TaskState{TaskHealthy}}, []string{"web-r1-a"}},
		{"states", TaskFilter{States: []TaskState{TaskHealthy, TaskPending}}, []string{"web-r1-a", "web-r2-a"}},
		{"live", TaskFilter{Live: true}, []string{"web-r1-a", "web-r2-a"}},
		{"live of revision", TaskFilter{Live: true, Revision: r1.Number}, []string{"web-r1-a"}},
		{"other service", TaskFilter{ServiceID: svc.ID + 100}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks, err := s.ListTasks(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) != len(tc.want) {
				t.Fatalf("got %d tasks, want %v", len(tasks), tc.want)
			}
			for i, tk := range tasks {
				if tk.ID != tc.want[i] {
					t.Fatalf("task %d = %s, want %v", i, tk.ID, tc.want)
				}
			}
		})
	}

	stopped, _ := s.GetTask(ctx, "web-r1-b")
	if stopped.ExitCode == nil || *stopped.ExitCode != 0 || stopped.Restarts != 2 || stopped.LastError != "exited" {
		t.Fatalf("stopped task: %+v", stopped)
	}
	if _, err := s.SetTaskState(ctx, "web-r1-b", TaskRunning, ""); !errors.Is(err, ErrTerminal) {
		t.Fatalf("reviving a stopped task: %v, want ErrTerminal", err)
	}
	if _, err := s.SetTaskState(ctx, "web-r1-b", TaskStopped, ""); err != nil {
		t.Fatalf("stopping twice: %v", err)
	}
	if _, err := s.CreateTask(ctx, Task{ID: "web-r1-a", ServiceID: svc.ID, Revision: r1.Number, Driver: "process"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate task id: %v", err)
	}
	if _, err := s.CreateTask(ctx, Task{ID: "orphan", ServiceID: svc.ID, Revision: 9, Driver: "process"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("task of a missing revision: %v", err)
	}
	if _, err := s.SetTaskState(ctx, "web-r1-a", "zombie", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown state: %v", err)
	}
	if _, err := s.GetTask(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing task: %v", err)
	}
	if err := s.DeleteTask(ctx, "web-r1-b"); err != nil {
		t.Fatal(err)
	}
}

// TestTaskGenerationAndStopReason: the generation is fixed at creation (an
// update cannot rewrite it), the stop reason is written by updates, and a
// file of schema 1 gets both columns with their zero values.
func TestTaskGenerationAndStopReason(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	known := migrations
	migrations = known[:1]
	s, err := Open(ctx, path)
	migrations = known
	if err != nil {
		t.Fatal(err)
	}
	svc := fixture(t, s)
	r1 := newRevision(t, s, svc.ID)
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old", "shop.staging.web-r1-b"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO tasks (id, service_id, revision, state, driver, created_at, updated_at)
			VALUES (?, ?, ?, 'draining', 'process', ?, ?)`, id, svc.ID, r1.Number, tval(now()), tval(now())); err != nil {
			t.Fatal(err)
		}
	}
	// What the controller kept before the columns existed.
	if _, err := db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, fmt.Sprintf("controller/service/%d", svc.ID),
		`{"status":{"crashes":2},"generations":{"shop.staging.web-r1-b":2},"stop_reasons":{"shop.staging.web-r1-b":"replaced"}}`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, err := s.GetTask(ctx, "old")
	if err != nil || old.Generation != 0 || old.StopReason != "" {
		t.Fatalf("migrated task = %+v, %v; want generation 0 and no stop reason", old, err)
	}
	moved, err := s.GetTask(ctx, "shop.staging.web-r1-b")
	if err != nil || moved.Generation != 2 || moved.StopReason != "replaced" {
		t.Fatalf("migrated task = %+v, %v; want generation 2 and stop reason moved from meta", moved, err)
	}
	if v, err := s.GetMeta(ctx, fmt.Sprintf("controller/service/%d", svc.ID)); err != nil || v != `{"status":{"crashes":2}}` {
		t.Fatalf("meta after migration = %s, %v; want only the status left", v, err)
	}
	if _, err := s.CreateTask(ctx, Task{ID: "new", ServiceID: svc.ID, Revision: r1.Number, Driver: "process", Generation: 3}); err != nil {
		t.Fatal(err)
	}
	cur, err := s.GetTask(ctx, "new")
	if err != nil || cur.Generation != 3 {
		t.Fatalf("created task = %+v, %v; want generation 3", cur, err)
	}
	cur.State, cur.StopReason, cur.Generation = TaskDraining, "replaced by r2", 9
	if _, err := s.UpdateTask(ctx, cur); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTask(ctx, "new")
	if err != nil || got.Generation != 3 || got.StopReason != "replaced by r2" || got.State != TaskDraining {
		t.Fatalf("updated task = %+v, %v; want generation 3 kept, stop reason and draining written", got, err)
	}
	_, err = s.CreateTask(ctx, Task{ID: "neg", ServiceID: svc.ID, Revision: r1.Number, Driver: "process", Generation: -1})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "generation -1") {
		t.Fatalf("negative generation: %v, want ErrInvalid naming it", err)
	}
}
