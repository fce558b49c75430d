package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

func TestFailureKinds(t *testing.T) {
	m := newMasker([]string{"hunter2"})
	tests := []struct {
		name     string
		err      error
		kind     error
		msg      string
		internal bool
	}{
		{"bad input keeps its text", invalidf("deploy: runtime %q", "x-hunter2"), ErrInvalid, `deploy: runtime "x-***"`, false},
		{"wrapped conflict", conflictf("restart: deployment 3 is in flight"), ErrConflict, "restart: deployment 3 is in flight", false},
		{"store not found", errors.Join(errors.New("rollback"), store.ErrNotFound), ErrNotFound, "rollback", false},
		{"store conflict", store.ErrTerminal, ErrConflict, "conflict", false},
		{"anything else is internal", errors.New("sqlite: disk I/O error near hunter2"), nil, "deploy failed", true},
		{"an internal step keeps its name", internal("deploy: recording the revisions", errors.New("database is locked")), nil,
			"deploy: recording the revisions failed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := failure("deploy", m, tt.err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("failure = %T %v, want *Error", err, err)
			}
			if e.Internal() != tt.internal || (tt.kind != nil && !errors.Is(err, tt.kind)) {
				t.Errorf("kind %v internal %v, want %v / %v", e.Kind, e.Internal(), tt.kind, tt.internal)
			}
			if !strings.Contains(e.Msg, tt.msg) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message %q (full %q), want it to say %q and mask the secret", e.Msg, err, tt.msg)
			}
			if tt.internal && (strings.Contains(e.Msg, "sqlite") || strings.Contains(e.Msg, "locked")) {
				t.Errorf("internal failure's message shows its cause: %q", e.Msg)
			}
		})
	}
	if failure("x", m, nil) != nil || !errors.Is(failure("x", m, context.Canceled), context.Canceled) {
		t.Error("nil and a context's end must pass through")
	}
}

// TestRequestErrorsAreTyped drives a real controller into each kind of
// failure, the internal one by closing its store.
func TestRequestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.start()
	ctx := context.Background()
	req := func(mod func(*DeployRequest)) DeployRequest {
		r := DeployRequest{App: "hello", Environment: "production", Services: map[string]config.Service{"web": web(1, false)},
			Artifact: e.artifact}
		mod(&r)
		return r
	}
	for _, tt := range []struct {
		name string
		req  DeployRequest
		kind error
		says string
	}{
		{"no services", req(func(r *DeployRequest) { r.Services = nil }), ErrInvalid, "no services"},
		{"malformed artifact", req(func(r *DeployRequest) { r.Artifact = "md5:x" }), ErrInvalid, `artifact "md5:x"`},
		{"missing artifact", req(func(r *DeployRequest) { r.Artifact = "sha256:" + strings.Repeat("0", 64) }), ErrNotFound, "build it first"},
		{"unavailable runtime", req(func(r *DeployRequest) {
			svc := r.Services["web"]
			svc.Runtime, r.Runtime = "", "docker" // the request's default applies
			r.Services = map[string]config.Service{"web": svc}
		}), ErrInvalid, `runtime "docker"`},
	} {
		_, err := c.Deploy(ctx, tt.req)
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want %v saying %q", tt.name, err, tt.kind, tt.says)
		}
	}
	if err := c.Scale(ctx, 1, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative scale: %v, want ErrInvalid", err)
	}
	if _, err := c.Rollback(ctx, 99, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback of no service: %v, want ErrNotFound", err)
	}
	if svcs, _ := e.store.ListServices(ctx, store.ServiceFilter{}); len(svcs) != 0 {
		t.Fatalf("refused requests changed the store: %+v", svcs)
	}

	e.stopCtl()
	e.store.Close()
	_, err := c.Deploy(ctx, req(func(*DeployRequest) {}))
	var ce *Error
	if !errors.As(err, &ce) || !ce.Internal() || ce.Msg != "deploy: recording the revisions and deployments failed" || ce.Cause == "" {
		t.Fatalf("deploy over a closed store: %#v, want an internal *Error naming the step", err)
	}
}
