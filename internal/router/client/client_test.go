package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

// startRouter runs the real router's admin API on a unix socket and its
// proxy on 127.0.0.1:0, the way `ferry router` does.
func startRouter(t *testing.T) (*client.Client, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ferry-rc-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "router.sock")
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	cfg := router.Config{Listen: "127.0.0.1:0", AdminSocket: sock,
		Options: router.Options{StatePath: filepath.Join(dir, "state.json"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	go func() { done <- router.Run(ctx, cfg, func(a string) { addr <- a }) }()
	var proxy string
	select {
	case proxy = <-addr:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket %v %v, want mode 0600", fi, err)
	}
	return client.New(sock), "http://" + proxy
}

func backend(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestClientOperations(t *testing.T) {
	c, proxy := startRouter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	svc := api.Service{Name: "shop/prod/web", Routes: []api.Route{{Host: "shop.test"}},
		Health: api.HealthCheck{Path: "/", Interval: 10 * time.Millisecond}}
	if err := c.PutService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	// Typed errors carry the router's message.
	err := c.PutService(ctx, api.Service{Name: "other", Routes: []api.Route{{Host: "shop.test"}}})
	var re *client.Error
	if !errors.Is(err, client.ErrConflict) || !errors.As(err, &re) || re.Message == "" {
		t.Fatalf("conflicting route: %v", err)
	}
	if err := c.PutService(ctx, api.Service{Name: "bad", Routes: []api.Route{{Host: "no spaces"}}}); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("bad host: %v", err)
	}
	if _, err := c.Service(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("unknown service: %v", err)
	}
	a1, a2 := backend(t), backend(t)
	if err := c.SetTargets(ctx, svc.Name, "v1", []api.Target{{ID: "t1", Addr: a1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTarget(ctx, svc.Name, "v2", api.Target{ID: "t2", Addr: a2}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWeights(ctx, svc.Name, map[string]int{"v1": 50, "v2": 50}); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := c.Service(ctx, svc.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Groups) == 2 && st.Groups[0].Targets[0].Health == api.TargetHealthy && st.Groups[1].Targets[0].Health == api.TargetHealthy {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("targets never healthy: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", proxy+"/", nil)
		req.Host = "shop.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("proxied request: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	m, err := c.Metrics(ctx, svc.Name, "", 30*time.Second)
	if err != nil || m.Requests != 20 || m.Status["2xx"] != 20 {
		t.Fatalf("metrics %+v %v", m, err)
	}
	if err := c.ResetMetrics(ctx, svc.Name, "v1"); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Metrics(ctx, svc.Name, "v1", 0); m.Requests != 0 {
		t.Fatalf("v1 after reset: %+v", m)
	}
	list, err := c.Services(ctx)
	if err != nil || len(list) != 1 || list[0].Name != svc.Name {
		t.Fatalf("services %+v %v", list, err)
	}
	if _, err := c.RemoveTarget(ctx, svc.Name, "v1", "t9"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("unknown target: %v", err)
	}
	if _, err := c.RemoveTarget(ctx, svc.Name, "v1", "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveGroup(ctx, svc.Name, "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteService(ctx, svc.Name); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.Services(ctx); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}
}
