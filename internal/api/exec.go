package api

import (
	"context"
	"net/http"

	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// resolveExec serves POST .../services/{service}/exec?cmd=ARG&cmd=ARG&task=ID
// (upgraded to the exec protocol): the command runs in the task's
// directory and environment. Without task, a healthy task is picked (else
// any running one).
func (h *handlers) resolveExec(r *http.Request) (server.ExecFunc, error) {
	svc, err := h.service(r)
	if err != nil {
		return nil, err
	}
	argv := r.URL.Query()["cmd"]
	if len(argv) == 0 || argv[0] == "" {
		return nil, server.Errorf(http.StatusBadRequest, "cmd: no command given").WithHint("ferry exec SERVICE -- CMD [ARGS...]")
	}
	tasks, err := h.tasksOf(r, svc)
	if err != nil {
		return nil, err
	}
	t := pickTask(tasks)
	if t.State == store.TaskStopped || t.State == store.TaskFailed {
		return nil, server.Errorf(http.StatusConflict, "task %s is %s: nothing to exec into", t.ID, t.State)
	}
	return func(ctx context.Context, io server.ExecIO) (int, error) {
		// io.Resize is not read: the driver cannot resize a session's
		// terminal, and the server keeps only the latest size, never blocking.
		code, err := h.driverOf(t).Exec(ctx, t.Handle, runtime.ExecOptions{
			Command: argv, Stdin: io.Stdin, Stdout: io.Stdout, Stderr: io.Stderr, TTY: io.TTY,
		})
		if err != nil {
			return code, server.Errorf(http.StatusBadGateway, "exec in task %s: %v", t.ID, err)
		}
		return code, nil
	}, nil
}

// pickTask prefers a healthy task, then a running one, then the first.
func pickTask(tasks []store.Task) store.Task {
	for _, want := range []store.TaskState{store.TaskHealthy, store.TaskRunning} {
		for _, t := range tasks {
			if t.State == want {
				return t
			}
		}
	}
	return tasks[0]
}
