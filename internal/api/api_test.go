package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime/process"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// recorder stands in for the controller at the API's boundary: these tests
// are about what reaches it (and what must not), not about deploying.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	deploy DeployRequest
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recorder) Deploy(_ context.Context, app, env string, req DeployRequest) (DeployResponse, error) {
	r.note("deploy " + app + "/" + env)
	r.mu.Lock()
	r.deploy = req
	r.mu.Unlock()
	return DeployResponse{Deployments: []DeploymentRef{{ID: 1, Service: "web", To: 1}}}, nil
}

func (r *recorder) Rollback(_ context.Context, s store.Service, to int) (DeploymentRef, error) {
	r.note("rollback " + s.Name)
	return DeploymentRef{}, server.Errorf(http.StatusConflict, "rollback: r1 is already live")
}

func (r *recorder) Scale(_ context.Context, s store.Service, n int) error {
	r.note("scale " + s.Name)
	return nil
}

func (r *recorder) Restart(_ context.Context, s store.Service, _ RestartRequest) (DeploymentRef, error) {
	r.note("restart " + s.Name)
	return DeploymentRef{}, nil
}

func (r *recorder) Status(context.Context, string, string) ([]ServiceStatus, error) { return nil, nil }

func (r *recorder) Control(_ context.Context, id int64, action string, full bool) error {
	r.note(fmt.Sprintf("%s %d full=%v", action, id, full))
	return nil
}

func (r *recorder) Watch(context.Context, int64, func(Progress)) (Progress, error) {
	return Progress{}, nil
}

func (r *recorder) StopAll(context.Context) ([]string, error) { return nil, nil }

// serve runs a real server with the API over a real store with one service,
// shop/production/web.
func serve(t *testing.T) (*client.Client, *recorder, *store.Store) {
	t.Helper()
	dir, err := os.MkdirTemp("", "fa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h, _ := home.New(dir)
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, h.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutApp(ctx, store.App{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureEnvironment(ctx, "shop", "production", store.EnvStandard); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureService(ctx, "shop", "production", "web"); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := server.New(server.Config{Home: h, Logger: slog.New(slog.DiscardHandler)})
	Register(srv, Deps{Store: st, Controller: rec, Driver: &process.Driver{Home: h}})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	c, err := client.New(h, client.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, st
}

func apiErr(t *testing.T, err error, status int, want string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != status || !strings.Contains(ae.Error(), want) {
		t.Errorf("got %v, want %d saying %q", err, status, want)
	}
}

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDeployRefusesBadRequestsBeforeTheController(t *testing.T) {
	c, rec, _ := serve(t)
	ctx := context.Background()
	web := map[string]config.Service{"web": {Command: []string{"./web"}}}
	for _, tc := range []struct {
		name, path string
		body       any
		want       string
	}{
		{"bad app", DeployPath("Shop_", "production"), DeployRequest{Services: web, Artifact: digest}, `app "Shop_": not a DNS label`},
		{"bad env", DeployPath("shop", "pr 1"), DeployRequest{Services: web, Artifact: digest}, `environment "pr 1"`},
		{"no services", DeployPath("shop", "production"), DeployRequest{Artifact: digest}, "services: none given"},
		{"bad digest", DeployPath("shop", "production"), DeployRequest{Services: web, Artifact: "sha256:../../etc"}, "want sha256:<64 lowercase hex digits>"},
		{"no command", DeployPath("shop", "production"), DeployRequest{Services: map[string]config.Service{"web": {}}, Artifact: digest}, "services.web.command: empty"},
		{"negative count", DeployPath("shop", "production"), DeployRequest{Services: map[string]config.Service{"web": {Command: []string{"x"}, Count: -1}}, Artifact: digest}, "services.web.count: -1"},
		{"unknown field", DeployPath("shop", "production"), map[string]any{"services": web, "artifact": digest, "bogus": 1}, `unknown field "bogus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiErr(t, c.Do(ctx, "POST", tc.path, tc.body, nil), http.StatusBadRequest, tc.want)
		})
	}
	if calls := rec.Calls(); len(calls) != 0 {
		t.Errorf("bad requests reached the controller: %v", calls)
	}

	var res DeployResponse
	req := DeployRequest{Services: web, Artifact: digest, Secrets: []string{"s3cret"}, GitSHA: "abc-dirty"}
	if err := c.Do(ctx, "POST", DeployPath("shop", "production"), req, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Deployments) != 1 || rec.deploy.GitSHA != "abc-dirty" || rec.deploy.Secrets[0] != "s3cret" {
		t.Errorf("deploy: answer %+v, controller got %+v", res, rec.deploy)
	}
}

func TestServiceAddressing(t *testing.T) {
	c, rec, _ := serve(t)
	ctx := context.Background()
	apiErr(t, c.Do(ctx, "POST", ServicePath("shop", "production", "nope")+"/scale", ScaleRequest{Count: 2}, nil),
		http.StatusNotFound, `no service "nope" in shop/production (services: web)`)
	apiErr(t, c.Do(ctx, "POST", ServicePath("shop", "staging", "web")+"/scale", ScaleRequest{Count: 2}, nil),
		http.StatusNotFound, `app "shop" has no environment "staging" (environments: production)`)
	apiErr(t, c.Do(ctx, "GET", StatusPath("cart", "production"), nil, nil),
		http.StatusNotFound, `no app "cart" has been deployed (apps: shop)`)
	apiErr(t, c.Do(ctx, "POST", ServicePath("shop", "production", "web")+"/scale", ScaleRequest{Count: MaxCount + 1}, nil),
		http.StatusBadRequest, "count: 1001 is out of range")
	apiErr(t, c.Do(ctx, "POST", ServicePath("shop", "production", "web")+"/restart", RestartRequest{MinHealthyPercent: 101}, nil),
		http.StatusBadRequest, "min_healthy_percent: 101")
	apiErr(t, c.Do(ctx, "POST", ServicePath("shop", "production", "web")+"/restart", RestartRequest{}, nil),
		http.StatusConflict, "has no live revision to restart")
	apiErr(t, c.Do(ctx, "GET", ServicePath("shop", "production", "web")+"/revisions/7", nil, nil),
		http.StatusNotFound, "service web has no revision 7")
	apiErr(t, c.Do(ctx, "GET", ServicePath("shop", "production", "web")+"/logs", nil, nil),
		http.StatusNotFound, "service web has no running task")
	if calls := rec.Calls(); len(calls) != 0 {
		t.Errorf("refused requests reached the controller: %v", calls)
	}

	var sr ScaleResponse
	if err := c.Do(ctx, "POST", ServicePath("shop", "production", "web")+"/scale", ScaleRequest{Count: 2}, &sr); err != nil {
		t.Fatal(err)
	}
	if sr.Service != "web" || sr.Count != 2 {
		t.Errorf("scale answer %+v", sr)
	}
	apiErr(t, c.Do(ctx, "POST", ServicePath("shop", "production", "web")+"/rollback", RollbackRequest{}, nil),
		http.StatusConflict, "already live")
}

func TestEventsInOrderAndFiltered(t *testing.T) {
	c, _, st := serve(t)
	ctx := context.Background()
	for i, e := range []store.Event{
		{App: "shop", Env: "production", Service: "web", Type: "deployment.started", Message: "one"},
		{App: "shop", Env: "production", Service: "worker", Type: "task.started", Message: "two"},
		{App: "shop", Env: "production", Service: "web", Type: "deployment.succeeded", Message: "three"},
	} {
		if _, err := st.AppendEvent(ctx, e); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	read := func(q string) []string {
		var msgs []string
		err := c.Stream(ctx, EventsPath+q, func(raw json.RawMessage) error {
			var e Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			msgs = append(msgs, e.Message)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(strings.Join(msgs, " "))
	}
	for q, want := range map[string]string{
		"":                     "one two three",
		"?service=web":         "one three",
		"?since=1":             "two three",
		"?tail=1":              "three",
		"?app=cart":            "",
		"?service=web&since=2": "three",
	} {
		if got := strings.Join(read(q), " "); got != want {
			t.Errorf("events%s = %q, want %q", q, got, want)
		}
	}
	apiErr(t, c.Stream(ctx, EventsPath+"?since=x", func(json.RawMessage) error { return nil }), http.StatusBadRequest, "since")
}
