package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// A preview's destroy names an environment; one that is long-lived (a
// deploy by hand made it) is refused and keeps serving, and a preview's
// own environment cannot be taken over by a deploy by hand.
func TestEnvironmentKindsKeepPreviewsAndLongLivedOnesApart(t *testing.T) {
	e := newEnv(t)
	e.start()
	ctx := context.Background()
	if err := e.wait(e.deploy(web(1, true, "HELLO_VERSION=v1")).Deployment); err != nil {
		t.Fatal(err)
	}
	err := e.ctl.DestroyEnvironment(ctx, "hello", "production")
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != ErrConflict || !strings.Contains(err.Error(), "hello/production is a standard environment, not a preview") {
		t.Fatalf("destroying a standard environment: %v, want a conflict naming it", err)
	}
	if code, body := e.get(); code != 200 || !strings.Contains(body, `"version":"v1"`) {
		t.Fatalf("after the refused destroy: %d %s, want v1 still serving", code, body)
	}

	intoProduction := DeployRequest{App: "hello", Environment: "production", Runtime: "process", Kind: store.EnvPreview,
		Services: map[string]config.Service{"web": web(1, true, "HELLO_VERSION=preview")}, Artifact: e.artifact}
	if _, err := e.ctl.Deploy(ctx, intoProduction); !errors.As(err, &ce) || ce.Kind != ErrConflict ||
		!strings.Contains(err.Error(), "hello/production is a long-lived environment: a preview cannot deploy into it") {
		t.Fatalf("a preview deploying into production: %v, want a conflict", err)
	}
	if st := e.status(); st.Live != 1 {
		t.Fatalf("production after the refused preview deploy: live r%d, want r1", st.Live)
	}

	req := DeployRequest{App: "hello", Environment: "pr-7", Runtime: "process", Kind: store.EnvPreview,
		Services: map[string]config.Service{"web": web(1, false)}, Artifact: e.artifact}
	refs, err := e.ctl.Deploy(ctx, req)
	if err != nil || len(refs) != 1 {
		t.Fatalf("preview deploy: %v (%d deployments)", err, len(refs))
	}
	if err := e.wait(refs[0].Deployment); err != nil {
		t.Fatal(err)
	}
	req.Kind = ""
	if _, err := e.ctl.Deploy(ctx, req); !errors.As(err, &ce) || ce.Kind != ErrConflict ||
		!strings.Contains(err.Error(), "environment hello/pr-7 belongs to a preview: deploy to another environment, or destroy the preview first") {
		t.Fatalf("a deploy by hand to the preview's environment: %v, want a conflict", err)
	}
	if err := e.ctl.DestroyEnvironment(ctx, "hello", "pr-7"); err != nil {
		t.Fatalf("destroying the preview's environment: %v", err)
	}
	if svcs, err := e.store.ListServices(ctx, store.ServiceFilter{App: "hello", Env: "pr-7"}); err != nil || len(svcs) != 0 {
		t.Fatalf("pr-7's services after its destroy: %+v (%v)", svcs, err)
	}
}
