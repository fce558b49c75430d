package client_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

// TestHealthChangesLongPoll: a long poll returns when a target changes
// health, naming its service, and not before.
func TestHealthChangesLongPoll(t *testing.T) {
	c, _ := startRouter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := c.HealthChanges(ctx, 0, 0)
	if err != nil || len(first.Services) != 0 {
		t.Fatalf("fresh router: %+v %v, want no changes", first, err)
	}
	svc := api.Service{Name: "shop/prod/web", Routes: []api.Route{{Host: "shop.test"}},
		Health: api.HealthCheck{Path: "/", Interval: 20 * time.Millisecond, HealthyThreshold: 2}}
	if err := c.PutService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	type reply struct {
		hc  api.HealthChanges
		err error
	}
	polled := make(chan reply, 1)
	go func() {
		hc, err := c.HealthChanges(ctx, first.Version, time.Minute)
		polled <- reply{hc, err}
	}()
	if err := c.AddTarget(ctx, svc.Name, "main", api.Target{ID: "t1", Addr: backend(t)}); err != nil {
		t.Fatal(err)
	}
	var got reply
	select {
	case got = <-polled:
	case <-ctx.Done():
		t.Fatal("the long poll did not return when the target turned healthy")
	}
	if got.err != nil || got.hc.Version <= first.Version || !slices.Equal(got.hc.Services, []string{svc.Name}) {
		t.Fatalf("long poll: %+v %v, want %s at a newer version", got.hc, got.err, svc.Name)
	}
	// It returned on the transition, not on some other occasion.
	if st, err := c.Service(ctx, svc.Name); err != nil || st.Groups[0].Targets[0].Health != api.TargetHealthy {
		t.Fatalf("after the poll returned: %+v %v, want t1 healthy", st, err)
	}
	// Nothing changed since: a short wait ends empty-handed.
	if hc, err := c.HealthChanges(ctx, got.hc.Version, 30*time.Millisecond); err != nil || len(hc.Services) != 0 || hc.Version != got.hc.Version {
		t.Fatalf("no change: %+v %v", hc, err)
	}
	// A version from a previous router (ahead of this one's) gets every
	// service seen, at once.
	if hc, err := c.HealthChanges(ctx, got.hc.Version+100, time.Minute); err != nil || !slices.Equal(hc.Services, []string{svc.Name}) {
		t.Fatalf("stale version: %+v %v", hc, err)
	}
}

// TestHealthChangesEndAtShutdown: a long poll under way does not hold up the
// router's shutdown.
func TestHealthChangesEndAtShutdown(t *testing.T) {
	dir, err := os.MkdirTemp("", "ferry-rc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "router.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cfg := router.Config{Listen: "127.0.0.1:0", AdminSocket: sock, ShutdownTimeout: time.Minute,
		Options: router.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	go func() { done <- router.Run(ctx, cfg, func(a string) { ready <- a }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	c := client.New(sock)
	polled := make(chan error, 1)
	go func() {
		_, err := c.HealthChanges(context.Background(), 0, 5*time.Minute)
		polled <- err
	}()
	// A round trip on another connection, so that the poll is most likely
	// waiting in the router when it shuts down (if it is not, it is
	// refused, which must not hold anything up either).
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("router Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("router shutdown held up by a long poll")
	}
	select {
	case <-polled:
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not end with the router")
	}
}
