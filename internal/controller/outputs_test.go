package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

func TestOutputsToRemove(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC) }
	kept := []runtime.KeptOutput{
		{ID: "a.p.web-r1-1", Modified: at(1)}, // revision no longer kept
		{ID: "a.p.web-r3-2", Modified: at(2)}, // oldest of r3: beyond keep 2
		{ID: "a.p.web-r3-3", Modified: at(4)},
		{ID: "a.p.web-r3-4", Modified: at(3)},
		{ID: "a.p.web-r1-5", Modified: at(0)},    // recorded: stays whatever its revision
		{ID: "a.p.web-r3-6", Modified: at(0)},    // recorded
		{ID: "a.pr-7.web-r1-1", Modified: at(9)}, // its service is gone (a destroyed preview)
		{ID: "a.p.api-r2-1", Modified: at(5)},    // another service, under its keep
		{ID: "server.log.d", Modified: at(0)},    // not a task id: not ours to remove
	}
	recorded := map[string]bool{"a.p.web-r1-5": true, "a.p.web-r3-6": true}
	revisions := map[string]map[int]bool{
		"a.p.web": {1: false, 2: true, 3: true},
		"a.p.api": {2: true},
	}
	got := outputsToRemove(kept, recorded, revisions, 2)
	want := []string{"a.p.web-r1-1", "a.p.web-r3-2", "a.pr-7.web-r1-1"}
	if !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	if got := outputsToRemove(kept, recorded, revisions, 100); !slices.Equal(got, []string{"a.p.web-r1-1", "a.pr-7.web-r1-1"}) {
		t.Errorf("with room for every gone task: removed %v", got)
	}
}

// TestRetainPrunesTaskOutputs runs retention over task outputs process
// drivers keep on disk: those of a dropped revision, of a gone service and
// beyond the per-service bound go; a recorded task's, the newest of a kept
// revision and a directory that is no task's stay.
func TestRetainPrunesTaskOutputs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := e.serviceWith(t, revisionOn(t, 1, config.RuntimeProcess, ""), revisionOn(t, 2, config.RuntimeProcess, ""),
		revisionOn(t, 3, config.RuntimeProcess, ""))
	if _, err := e.store.SetLiveRevision(ctx, svc.ID, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateTask(ctx, store.Task{ID: "hello.production.web-r1-1", ServiceID: svc.ID, Revision: 1, State: store.TaskHealthy}); err != nil {
		t.Fatal(err)
	}
	write := func(id string, age time.Duration) {
		dir := filepath.Join(e.home.LogsDir(), id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "output.log")
		if err := os.WriteFile(path, []byte("hello listening\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		os.Chtimes(path, when, when)
		os.Chtimes(dir, when, when)
	}
	write("hello.production.web-r1-1", time.Hour)   // recorded
	write("hello.production.web-r1-2", time.Minute) // r1: dropped with KeepRevisions 1
	write("hello.production.web-r2-3", time.Minute) // r2: not the newest, live or a rollback target
	write("hello.other.web-r1-1", time.Minute)      // no such service
	write("not-a-task", time.Hour)
	const keep = 3
	for i := range keep + 2 {
		write(fmt.Sprintf("hello.production.web-r3-%d", 10+i), time.Duration(i)*time.Second)
	}
	// Two drivers keep outputs in the same directory (as process and docker
	// do): each output counts once.
	c := New(Deps{Store: e.store, Driver: e.driver(), Drivers: map[string]runtime.Driver{"twin": e.driver()}, Artifacts: e.arts,
		Home: e.home, Logger: quiet, KeepRevisions: 1, KeepGoneOutputs: keep})
	removed, err := c.Retain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, "logs of 5 tasks") {
		t.Errorf("Retain reported %v, want logs of 5 tasks among it", removed)
	}
	exists := func(id string) bool {
		_, err := os.Stat(filepath.Join(e.home.LogsDir(), id))
		return err == nil
	}
	for _, id := range []string{"hello.production.web-r1-2", "hello.production.web-r2-3", "hello.other.web-r1-1",
		fmt.Sprintf("hello.production.web-r3-%d", 10+keep), fmt.Sprintf("hello.production.web-r3-%d", 11+keep)} {
		if exists(id) {
			t.Errorf("the output of %s is still there", id)
		}
	}
	for _, id := range []string{"hello.production.web-r1-1", "not-a-task", "hello.production.web-r3-10",
		fmt.Sprintf("hello.production.web-r3-%d", 9+keep)} {
		if !exists(id) {
			t.Errorf("the output of %s was removed", id)
		}
	}
	for _, f := range []string{"server.log", "router.log"} {
		os.WriteFile(filepath.Join(e.home.LogsDir(), f), nil, 0o600)
	}
	if _, err := c.Retain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"server.log", "router.log", "not-a-task"} {
		if _, err := os.Stat(filepath.Join(e.home.LogsDir(), f)); err != nil {
			t.Errorf("a second retention removed %s: %v", f, err)
		}
	}
}

// A crash loop ends no deployment, yet the outputs its replaced tasks leave
// are pruned: retention also runs when a pass forgets tasks, at most once
// per RetainEvery.
func TestCrashLoopOutputsArePruned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tune = func(d *Deps) { d.KeepGoneOutputs, d.RetainEvery = 1, time.Millisecond }
	e.start()
	d := e.deploy(web(1, false, "HELLO_VERSION=v1", "HELLO_CRASH_AFTER=300ms"))
	if err := e.wait(d.Deployment); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, 30*time.Second, func() (bool, string) {
		evs, err := e.store.ListEvents(ctx, store.EventFilter{Service: "web"})
		if err != nil {
			t.Fatal(err)
		}
		launches := 0
		for _, ev := range evs {
			if ev.Type == EventTaskLaunched {
				launches++
			}
		}
		rows, err := e.store.ListTasks(ctx, store.TaskFilter{ServiceID: d.ServiceID})
		if err != nil {
			t.Fatal(err)
		}
		recorded := map[string]bool{}
		for _, r := range rows {
			recorded[r.ID] = true
		}
		ents, _ := os.ReadDir(e.home.LogsDir())
		var gone []string
		for _, ent := range ents {
			if _, _, ok := deploy.ParseTaskID(ent.Name()); ok && !recorded[ent.Name()] {
				gone = append(gone, ent.Name())
			}
		}
		return launches >= 5 && len(gone) <= 1, fmt.Sprintf("5 launches and the output of at most 1 gone task; got %d launches, gone %v", launches, gone)
	})
}
