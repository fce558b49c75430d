package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// TaskState is where a task is in its life.
type TaskState string

// Task states. Only stopped is final: a failed task may be restarted in place.
const (
	TaskPending   TaskState = "pending"
	TaskStarting  TaskState = "starting"
	TaskRunning   TaskState = "running"
	TaskHealthy   TaskState = "healthy"
	TaskUnhealthy TaskState = "unhealthy"
	TaskDraining  TaskState = "draining"
	TaskStopping  TaskState = "stopping"
	TaskStopped   TaskState = "stopped"
	TaskFailed    TaskState = "failed"
)

// Valid reports whether s is a known state.
func (s TaskState) Valid() bool {
	switch s {
	case TaskPending, TaskStarting, TaskRunning, TaskHealthy, TaskUnhealthy, TaskDraining, TaskStopping, TaskStopped, TaskFailed:
		return true
	}
	return false
}

// Task is one running instance of a revision.
type Task struct {
	ID        string
	ServiceID int64
	Revision  int
	State     TaskState
	Driver    string
	Handle    string // opaque to the store; the driver's way back to the task
	PID       int
	// ProcessStart is the process's start time as the driver measures it
	// (e.g. /proc/<pid>/stat starttime); with PID it detects pid reuse.
	ProcessStart int64
	Port         int
	Addr         string
	StartedAt    time.Time
	StoppedAt    time.Time
	ExitCode     *int
	Restarts     int
	LastError    string
	HealthySince time.Time
	// Generation tells apart tasks of one revision started for different
	// restarts of the service (0: the first).
	Generation int
	// StopReason says why the task is being stopped, once it is.
	StopReason string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TaskFilter selects tasks; zero fields do not filter.
type TaskFilter struct {
	ServiceID int64
	Revision  int
	States    []TaskState // any of these
	Live      bool        // only tasks not stopped (what adoption must find)
}

const taskCols = `id, service_id, revision, state, driver, handle, pid, process_start, port, addr, started_at, stopped_at,
	exit_code, restarts, last_error, healthy_since, generation, stop_reason, created_at, updated_at`

func scanTask(sc interface{ Scan(...any) error }) (Task, error) {
	var t Task
	err := sc.Scan(&t.ID, &t.ServiceID, &t.Revision, &t.State, &t.Driver, &t.Handle, intCol[int]{&t.PID},
		intCol[int64]{&t.ProcessStart}, intCol[int]{&t.Port}, &t.Addr, timeCol{&t.StartedAt}, timeCol{&t.StoppedAt},
		ptrCol{&t.ExitCode}, &t.Restarts, &t.LastError, timeCol{&t.HealthySince}, &t.Generation, &t.StopReason, timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt})
	return t, err
}

// CreateTask records a new task. Its revision must exist (ErrConflict).
func (o ops) CreateTask(ctx context.Context, t Task) (Task, error) {
	if t.ID == "" {
		return Task{}, invalid("task: empty id")
	}
	if t.State == "" {
		t.State = TaskPending
	}
	if !t.State.Valid() {
		return Task{}, invalid("task %s: unknown state %q", t.ID, t.State)
	}
	if t.Generation < 0 {
		return Task{}, invalid("task %s: generation %d is negative", t.ID, t.Generation)
	}
	t.CreatedAt = now()
	t.UpdatedAt = t.CreatedAt
	err := o.write(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, `INSERT INTO tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.ServiceID, t.Revision, t.State, t.Driver, t.Handle, ival(t.PID), ival(t.ProcessStart), ival(t.Port), t.Addr,
			tval(t.StartedAt), tval(t.StoppedAt), pval(t.ExitCode), t.Restarts, t.LastError, tval(t.HealthySince),
			t.Generation, t.StopReason, tval(t.CreatedAt), tval(t.UpdatedAt))
		if err != nil {
			return wrap("create task "+t.ID, err)
		}
		tx.noteTask(t)
		return nil
	})
	if err != nil {
		return Task{}, err
	}
	return t, nil
}

// GetTask returns the task with this id.
func (o ops) GetTask(ctx context.Context, id string) (Task, error) {
	t, err := scanTask(o.q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, notFound("task %s", id)
	}
	return t, wrap("get task", err)
}

// ListTasks returns the tasks matching f, oldest first.
func (o ops) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	if o.tx == nil && f.ServiceID != 0 && f.Revision == 0 && !f.Live && len(f.States) == 0 {
		return o.s.serviceTasks(ctx, f.ServiceID)
	}
	return listTasks(ctx, o.q, f)
}

// listTasks is ListTasks on q, from the database.
func listTasks(ctx context.Context, q querier, f TaskFilter) ([]Task, error) {
	var where []string
	var args []any
	if f.ServiceID != 0 {
		where, args = append(where, "service_id = ?"), append(args, f.ServiceID)
	}
	if f.Revision != 0 {
		where, args = append(where, "revision = ?"), append(args, f.Revision)
	}
	if f.Live {
		where = append(where, "state <> 'stopped'")
	}
	if len(f.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	query := `SELECT ` + taskCols + ` FROM tasks`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, q, "list tasks", scanTask, query+" ORDER BY created_at, id", args...)
}

// UpdateTask writes every mutable field of t (all but ID, service, revision,
// generation and creation time). A stopped task cannot change (ErrTerminal).
func (o ops) UpdateTask(ctx context.Context, t Task) (Task, error) {
	if !t.State.Valid() {
		return Task{}, invalid("task %s: unknown state %q", t.ID, t.State)
	}
	var out Task
	err := o.write(ctx, func(tx *Tx) error {
		// One statement: the update returns the fields it keeps, and only
		// when nothing matched is the row read, to say why.
		t.UpdatedAt = now()
		err := tx.q.QueryRowContext(ctx, `UPDATE tasks SET state = ?, driver = ?, handle = ?, pid = ?, process_start = ?,
			port = ?, addr = ?, started_at = ?, stopped_at = ?, exit_code = ?, restarts = ?, last_error = ?, healthy_since = ?,
			stop_reason = ?, updated_at = ? WHERE id = ? AND state <> 'stopped'
			RETURNING service_id, revision, generation, created_at`,
			t.State, t.Driver, t.Handle, ival(t.PID), ival(t.ProcessStart), ival(t.Port), t.Addr, tval(t.StartedAt),
			tval(t.StoppedAt), pval(t.ExitCode), t.Restarts, t.LastError, tval(t.HealthySince), t.StopReason, tval(t.UpdatedAt),
			t.ID).Scan(&t.ServiceID, &t.Revision, &t.Generation, timeCol{&t.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			cur, err := tx.GetTask(ctx, t.ID)
			if err != nil {
				return err
			}
			return wrapTerminal("task "+t.ID, string(cur.State))
		}
		if err != nil {
			return wrap("update task "+t.ID, err)
		}
		out = t
		tx.noteTask(t)
		return nil
	})
	return out, err
}

// withTaskState moves t to state at time at, keeping the timestamps that
// follow from states: healthy_since while healthy, stopped_at once stopped.
func withTaskState(t Task, state TaskState, at time.Time) Task {
	if state == TaskHealthy && t.State != TaskHealthy {
		t.HealthySince = at
	}
	if state != TaskHealthy {
		t.HealthySince = time.Time{}
	}
	if (state == TaskStopped || state == TaskFailed) && t.StoppedAt.IsZero() {
		t.StoppedAt = at
	}
	if state != TaskStopped && state != TaskFailed {
		t.StoppedAt = time.Time{}
	}
	t.State = state
	return t
}

// SetTaskState moves a task to state, recording lastError when not empty.
func (o ops) SetTaskState(ctx context.Context, id string, state TaskState, lastError string) (Task, error) {
	if !state.Valid() {
		return Task{}, invalid("task %s: unknown state %q", id, state)
	}
	var out Task
	err := o.write(ctx, func(tx *Tx) error {
		t, err := tx.GetTask(ctx, id)
		if err != nil {
			return err
		}
		if t.State == TaskStopped && state == TaskStopped {
			out = t // stopping twice is not an error
			return nil
		}
		t = withTaskState(t, state, now())
		if lastError != "" {
			t.LastError = lastError
		}
		out, err = tx.UpdateTask(ctx, t)
		return err
	})
	return out, err
}

// DeleteTask forgets a task (after it stopped and its driver removed it).
func (o ops) DeleteTask(ctx context.Context, id string) error {
	return o.write(ctx, func(tx *Tx) error {
		if err := affected(tx.q.ExecContext(ctx, `DELETE FROM tasks WHERE id = ?`, id))("delete task", "task %s", id); err != nil {
			return err
		}
		tx.noteTaskDeleted(id)
		return nil
	})
}
