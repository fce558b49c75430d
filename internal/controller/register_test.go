package controller

import (
	"context"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// TestRouterConfigFollowsTheLiveRevision: after a rollback to an older
// revision, the router gets that revision's routes and health check back,
// not those of the highest revision it was ever given.
func TestRouterConfigFollowsTheLiveRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.start()
	ctx := context.Background()
	v1 := web(1, true, "HELLO_VERSION=v1")
	v2 := web(1, true, "HELLO_VERSION=v2")
	v2.Routes = []config.Route{{Host: "hello.localhost"}, {Host: "v2.localhost"}}
	v2.Health.Path = "/"
	for _, svc := range []config.Service{v1, v2} {
		if err := e.wait(e.deploy(svc).Deployment); err != nil {
			t.Fatal(err)
		}
	}
	routerHas := func(routes int, path string) func() (bool, string) {
		return func() (bool, string) {
			s, err := e.router.Service(ctx, "hello/production/web")
			return err == nil && len(s.Routes) == routes && s.Health.Path == path,
				"the router has " + path + " with its routes (got " + s.Health.Path + ")"
		}
	}
	waitFor(t, 5*time.Second, routerHas(2, "/"))
	rb, err := c.Rollback(ctx, e.status().ServiceID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.wait(rb.Deployment); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, routerHas(1, "/healthz"))
	waitFor(t, 5*time.Second, func() (bool, string) { return e.serves("v1") })
}

// Which tasks' router targets a snapshot keeps; the others are strays.
func TestOwnsTarget(t *testing.T) {
	for s, want := range map[store.TaskState]bool{
		store.TaskPending:   true, // launching: registered before the snapshot saw the launch
		store.TaskStarting:  true,
		store.TaskRunning:   true,
		store.TaskHealthy:   true,
		store.TaskUnhealthy: true,
		store.TaskDraining:  true, // its stop removes the target after the drain
		store.TaskStopping:  false,
		store.TaskStopped:   false,
		store.TaskFailed:    false,
	} {
		if got := ownsTarget(s); got != want {
			t.Errorf("ownsTarget(%s) = %v, want %v", s, got, want)
		}
	}
}
