package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// logs: GET .../services/{service}/logs?task=ID&tail=N&follow=true → NDJSON
// LogLine. Without task, the output of every live task, one task after the
// other (interleaved as it comes when following). Logs outlive their task,
// so a gone task's id works too while retention keeps its output.
func (h *handlers) logs(w http.ResponseWriter, r *http.Request) {
	svc, err := h.service(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	tail, err := intParam(r, "tail", 0)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	follow, err := boolParam(r, "follow")
	if err != nil {
		server.WriteError(w, err)
		return
	}
	tasks, err := h.tasksOf(r, svc)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	opts := runtime.LogOptions{Follow: follow, Tail: int(tail)}
	readers := make([]io.ReadCloser, 0, len(tasks))
	defer func() {
		for _, rc := range readers {
			rc.Close()
		}
	}()
	for _, t := range tasks {
		rc, err := h.logsOf(r.Context(), t, opts)
		if err != nil {
			server.WriteError(w, server.Errorf(http.StatusNotFound, "logs of task %s: %v", t.ID, err))
			return
		}
		readers = append(readers, rc)
	}
	st := server.NewStream(w, r)
	var mu sync.Mutex // one Send at a time
	send := func(l LogLine) error {
		mu.Lock()
		defer mu.Unlock()
		return st.Send(l)
	}
	if !follow {
		for i, rc := range readers {
			if sendLines(st.Context(), tasks[i].ID, rc, send) != nil {
				return
			}
		}
		return
	}
	var wg sync.WaitGroup
	for i, rc := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sendLines(st.Context(), tasks[i].ID, rc, send)
		}()
	}
	stop := context.AfterFunc(st.Context(), func() {
		for _, rc := range readers {
			rc.Close()
		}
	})
	defer stop()
	wg.Wait()
}

// sendLines sends each line of rc as a LogLine of task id.
func sendLines(ctx context.Context, id string, rc io.Reader, send func(LogLine) error) error {
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := send(LogLine{Task: id, Line: sc.Text()}); err != nil {
			return err
		}
	}
	return sc.Err()
}

// logsOf streams task t's output: through its driver while it has a
// handle, else (a task gone from the store, or not launched) what a driver
// kept of it.
func (h *handlers) logsOf(ctx context.Context, t store.Task, opts runtime.LogOptions) (io.ReadCloser, error) {
	if t.Handle != "" {
		return h.driverOf(t).Logs(ctx, t.Handle, opts)
	}
	err := errors.New("no output kept")
	for _, d := range append([]runtime.Driver{h.Driver}, slices.Collect(maps.Values(h.Drivers))...) {
		if lk, ok := d.(runtime.LogKeeper); ok {
			var rc io.ReadCloser
			if rc, err = lk.KeptLogs(ctx, t.ID, opts.Tail); err == nil {
				return rc, nil
			}
		}
	}
	return nil, err
}

// tasksOf is the task named by ?task= (which must belong to svc; once gone
// from the store, its id names it), or every live task of svc.
func (h *handlers) tasksOf(r *http.Request, svc store.Service) ([]store.Task, error) {
	if id := r.URL.Query().Get("task"); id != "" {
		t, err := h.Store.GetTask(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			if prefix, _, ok := deploy.ParseTaskID(id); ok && prefix == deploy.TaskPrefix(svc.App, svc.Env, svc.Name) {
				return []store.Task{{ID: id, ServiceID: svc.ID}}, nil
			}
		}
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.ServiceID != svc.ID) {
			return nil, server.Errorf(http.StatusNotFound, "service %s has no task %q", svc.Name, id).
				WithHint("`ferry status` lists the tasks; `ferry events --service " + svc.Name + "` names the gone ones")
		}
		if err != nil {
			return nil, err
		}
		return []store.Task{t}, nil
	}
	tasks, err := h.Store.ListTasks(r.Context(), store.TaskFilter{ServiceID: svc.ID, Live: true})
	if err != nil {
		return nil, err
	}
	out := tasks[:0]
	for _, t := range tasks {
		if t.Handle != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, server.Errorf(http.StatusNotFound, "service %s has no running task", svc.Name).
			WithHint("name a stopped one with --task, or see `ferry status`")
	}
	return out, nil
}
