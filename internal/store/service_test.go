package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestNextScale(t *testing.T) {
	three := 3
	for _, tc := range []struct {
		name       string
		old, newC  int
		scaled     *int
		wantScaled *int
	}{
		{"no override stays none", 2, 2, nil, nil},
		{"same file count keeps manual scale", 2, 2, &three, &three},
		{"changed file count drops manual scale", 2, 4, &three, nil},
		{"count change without override", 2, 5, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextScale(tc.old, tc.scaled, tc.newC); got != tc.wantScaled {
				t.Fatalf("nextScale = %v, want %v", got, tc.wantScaled)
			}
		})
	}
}

func TestServiceScaleAndLiveRevision(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	if svc.Count() != 0 || svc.ScaledCount != nil || svc.LiveRevision != 0 {
		t.Fatalf("new service: %+v", svc)
	}
	svc, err := s.SetDesiredCount(ctx, svc.ID, 2)
	if err != nil || svc.Count() != 2 {
		t.Fatalf("desired 2: %+v %v", svc, err)
	}
	five := 5
	if svc, err = s.SetScale(ctx, svc.ID, &five); err != nil || svc.Count() != 5 {
		t.Fatalf("scale 5: %+v %v", svc, err)
	}
	if svc, err = s.SetDesiredCount(ctx, svc.ID, 2); err != nil || svc.Count() != 5 {
		t.Fatalf("same file count must keep the manual scale: %+v %v", svc, err)
	}
	if svc, err = s.SetDesiredCount(ctx, svc.ID, 3); err != nil || svc.Count() != 3 || svc.ScaledCount != nil {
		t.Fatalf("new file count must drop the manual scale: %+v %v", svc, err)
	}
	zero := 0
	if svc, err = s.SetScale(ctx, svc.ID, &zero); err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetService(ctx, svc.ID)
	if again.Count() != 0 || again.ScaledCount == nil {
		t.Fatalf("scale to zero is kept as zero, not as none: %+v", again)
	}

	if _, err := s.SetLiveRevision(ctx, svc.ID, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("live revision that does not exist: %v", err)
	}
	r := newRevision(t, s, svc.ID)
	if svc, err = s.SetLiveRevision(ctx, svc.ID, r.Number); err != nil || svc.LiveRevision != 1 {
		t.Fatalf("live revision: %+v %v", svc, err)
	}
	if svc, err = s.SetServiceState(ctx, svc.ID, "crash_loop", "exited 3 times in 30s"); err != nil {
		t.Fatal(err)
	}
	found, err := s.FindService(ctx, "shop", "staging", "web")
	if err != nil || found.State != "crash_loop" || found.LiveRevision != 1 || found.App != "shop" || found.Env != "staging" {
		t.Fatalf("find: %+v %v", found, err)
	}
	if _, err := s.SetDesiredCount(ctx, svc.ID, -1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative count: %v", err)
	}
	if _, err := s.GetService(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing service: %v", err)
	}
}

func TestEnsureIsIdempotentAndScoped(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	a := fixture(t, s)
	b := fixture(t, s)
	if a.ID != b.ID {
		t.Fatalf("EnsureService created a second service: %d, %d", a.ID, b.ID)
	}
	if _, err := s.EnsureEnvironment(ctx, "shop", "pr-1", EnvPreview); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureService(ctx, "shop", "pr-1", "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureEnvironment(ctx, "shop", "pr-1", EnvStandard); !errors.Is(err, ErrConflict) {
		t.Fatalf("environment kind changed: %v", err)
	}
	if _, err := s.EnsureEnvironment(ctx, "nope", "staging", EnvStandard); !errors.Is(err, ErrNotFound) {
		t.Fatalf("environment of a missing app: %v", err)
	}
	if _, err := s.EnsureService(ctx, "shop", "nope", "web"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "shop/nope") {
		t.Fatalf("service of a missing environment: %v", err)
	}
	all, _ := s.ListServices(ctx, ServiceFilter{App: "shop"})
	staging, _ := s.ListServices(ctx, ServiceFilter{App: "shop", Env: "staging"})
	if len(all) != 2 || len(staging) != 1 {
		t.Fatalf("services: all %d, staging %d", len(all), len(staging))
	}
	envs, _ := s.ListEnvironments(ctx, "shop")
	if len(envs) != 2 || envs[0].Name != "pr-1" || envs[0].Kind != EnvPreview {
		t.Fatalf("environments: %+v", envs)
	}

	// Destroying a preview environment removes what hangs off it; its
	// events stay for the trace.
	r := newRevision(t, s, all[0].ID)
	if _, err := s.CreateTask(ctx, Task{ID: "t", ServiceID: all[0].ID, Revision: r.Number, Driver: "process"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvent(ctx, Event{App: "shop", Env: "pr-1", Type: "preview.destroyed"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEnvironment(ctx, "shop", "pr-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTask(ctx, "t"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("task survived its environment: %v", err)
	}
	if evs, _ := s.ListEvents(ctx, EventFilter{Env: "pr-1"}); len(evs) != 1 {
		t.Fatalf("events of a deleted environment: %d", len(evs))
	}
	if err := s.DeleteEnvironment(ctx, "shop", "pr-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
