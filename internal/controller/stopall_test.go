package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// TestStopAllTakesEveryTaskThroughTheStopOrder: each task is deregistered
// and drained, then its pre_stop hook runs, then it gets the service's stop
// signal with the service's stop timeout (the task ignores SIGTERM for 30s,
// so a fixed SIGTERM+10s would not end it within the bound below). Desired
// state stays: a new controller brings the tasks back.
func TestStopAllTakesEveryTaskThroughTheStopOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.start()
	ctx := context.Background()
	svc := web(2, true, "HELLO_VERSION=v1", "HELLO_IGNORE_SIGTERM=30s")
	svc.StopTimeout = 500 * time.Millisecond
	svc.Hooks.PreStop = &config.Hook{Command: []string{"sh", "-c", "echo flushed"}, Timeout: 5 * time.Second}
	d := e.deploy(svc)
	if err := e.wait(d.Deployment); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) { return onRevision(e.status(), 1, 2), "2 healthy tasks" })
	var want []string
	for _, tk := range e.status().Tasks {
		want = append(want, tk.ID)
	}

	began := time.Now()
	ids, err := c.StopAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 8*time.Second {
		t.Errorf("StopAll took %s: the service's 500ms stop timeout was not used", took)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("stopped %v, want %v", ids, want)
	}
	if run := e.running(); len(run) != 0 {
		t.Errorf("still running: %v", run)
	}
	evs, err := e.store.ListEvents(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range want {
		var order []string
		for _, ev := range evs {
			if ev.Task == id && (ev.Type == EventTaskDrained || ev.Type == EventTaskHook || ev.Type == EventTaskStopped) {
				order = append(order, ev.Type)
				if ev.Type == EventTaskHook && !strings.Contains(ev.Message, "succeeded: flushed") {
					t.Errorf("%s: hook event %q", id, ev.Message)
				}
			}
		}
		if got := strings.Join(order, " "); got != EventTaskDrained+" "+EventTaskHook+" "+EventTaskStopped {
			t.Errorf("%s: stop events %q, want drained, hook, stopped", id, got)
		}
		row, err := e.store.GetTask(ctx, id)
		if err != nil || row.State != store.TaskStopped || row.StopReason != stopAllReason {
			t.Errorf("%s: row %+v, %v; want stopped with the reason", id, row, err)
		}
	}
	// The halted controller starts nothing; a new one restores the count.
	if run := e.running(); len(run) != 0 {
		t.Errorf("the halted controller started %v", run)
	}
	e.stopCtl()
	e.start()
	waitFor(t, 15*time.Second, func() (bool, string) {
		st := e.status()
		return onRevision(st, 1, 2), fmt.Sprintf("2 healthy tasks again (%+v)", st.Tasks)
	})
}
