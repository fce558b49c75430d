package controller

import (
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

func TestObserve(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := now.Add(-time.Minute)
	up := &runtime.Status{Running: true}
	down := &runtime.Status{Running: false, ExitCode: 3, ExitedAt: earlier}
	target := func(h api.TargetHealth) *api.TargetStatus { return &api.TargetStatus{Health: h} }
	code := 7
	tests := []struct {
		name      string
		row       rowState
		v         view
		want      deploy.TaskState
		wantRow   store.TaskState
		changed   bool
		since     time.Time
		exitCode  int
		hasReason bool
	}{
		{name: "pending is the store's intent", row: rowState{State: store.TaskPending}, v: view{proc: down}, want: deploy.TaskPending, wantRow: store.TaskPending},
		{name: "draining keeps its reason", row: rowState{State: store.TaskDraining}, v: view{proc: down}, want: deploy.TaskDraining, wantRow: store.TaskDraining, hasReason: true},
		{name: "stopping", row: rowState{State: store.TaskStopping}, want: deploy.TaskStopping, wantRow: store.TaskStopping, hasReason: true},
		{name: "stopped carries its exit", row: rowState{State: store.TaskStopped, ExitCode: &code}, want: deploy.TaskStopped, wantRow: store.TaskStopped, exitCode: 7},
		{name: "failed without code", row: rowState{State: store.TaskFailed}, want: deploy.TaskFailed, wantRow: store.TaskFailed, exitCode: -1},
		{name: "exited on its own", row: rowState{State: store.TaskHealthy}, v: view{proc: down, routed: true, routerKnown: true, target: target(api.TargetHealthy)}, want: deploy.TaskFailed, wantRow: store.TaskFailed, changed: true, exitCode: 3},
		{name: "unrouted and running is healthy", row: rowState{State: store.TaskStarting}, v: view{proc: up}, want: deploy.TaskHealthy, wantRow: store.TaskHealthy, changed: true, since: now},
		{name: "unrouted stays healthy since", row: rowState{State: store.TaskHealthy, HealthySince: earlier}, v: view{proc: up}, want: deploy.TaskHealthy, wantRow: store.TaskHealthy, since: earlier},
		{name: "not in the router is starting", row: rowState{State: store.TaskHealthy, HealthySince: earlier}, v: view{proc: up, routed: true, routerKnown: true}, want: deploy.TaskStarting, wantRow: store.TaskStarting, changed: true},
		{name: "initial is running", row: rowState{State: store.TaskStarting}, v: view{proc: up, routed: true, routerKnown: true, target: target(api.TargetInitial)}, want: deploy.TaskRunning, wantRow: store.TaskRunning, changed: true},
		{name: "turns healthy now", row: rowState{State: store.TaskRunning}, v: view{proc: up, routed: true, routerKnown: true, target: target(api.TargetHealthy)}, want: deploy.TaskHealthy, wantRow: store.TaskHealthy, changed: true, since: now},
		{name: "unhealthy", row: rowState{State: store.TaskHealthy, HealthySince: earlier}, v: view{proc: up, routed: true, routerKnown: true, target: target(api.TargetUnhealthy)}, want: deploy.TaskUnhealthy, wantRow: store.TaskUnhealthy, changed: true},
		{name: "router down keeps the last health", row: rowState{State: store.TaskHealthy, HealthySince: earlier}, v: view{proc: up, routed: true}, want: deploy.TaskHealthy, wantRow: store.TaskHealthy, since: earlier},
		{name: "driver not asked keeps the row", row: rowState{State: store.TaskRunning}, v: view{routed: true, routerKnown: true, target: target(api.TargetInitial)}, want: deploy.TaskRunning, wantRow: store.TaskRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := store.Task{ID: "t1", Revision: 2, State: tt.row.State, HealthySince: tt.row.HealthySince, ExitCode: tt.row.ExitCode,
				StartedAt: earlier, Generation: 4, StopReason: "why"}
			got, next, changed := observe(row, tt.v, now)
			if got.State != tt.want || next.State != tt.wantRow || changed != tt.changed {
				t.Fatalf("got %s / row %s / changed %v, want %s / %s / %v", got.State, next.State, changed, tt.want, tt.wantRow, tt.changed)
			}
			if got.ID != "t1" || got.Revision != 2 || got.Generation != 4 || !got.StartedAt.Equal(earlier) {
				t.Errorf("identity not carried: %+v", got)
			}
			if !got.HealthySince.Equal(tt.since) {
				t.Errorf("HealthySince = %s, want %s", got.HealthySince, tt.since)
			}
			if (got.StopReason == "why") != tt.hasReason {
				t.Errorf("StopReason = %q", got.StopReason)
			}
			if tt.exitCode != 0 && (got.Exit == nil || got.Exit.Code != tt.exitCode) {
				t.Errorf("Exit = %+v, want code %d", got.Exit, tt.exitCode)
			}
		})
	}
}

type rowState struct {
	State        store.TaskState
	HealthySince time.Time
	ExitCode     *int
}
