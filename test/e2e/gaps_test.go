package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/runtime/docker"
)

// TestStatusListsPreviews creates a branch preview and checks that `ferry
// status` shows it, as text and as JSON, with its branch, host, state, head
// commit and expiry.
func TestStatusListsPreviews(t *testing.T) {
	r := startPreviewRig(t, "1h")
	sha := r.push(t, "feature/status", "s1")
	res := mustFerry(t, r.repo, r.home, nil, "preview", "create", "feature/status", "-o", "json")
	var p previewDoc
	if err := json.Unmarshal([]byte(res.Stdout), &p); err != nil || p.State != "ready" {
		t.Fatalf("preview create: %v %+v\n%s", err, p, res.Stdout)
	}

	res = mustFerry(t, r.repo, r.home, nil, "status", "--env", p.Env, "-o", "json")
	var st struct {
		App      string
		Previews []struct {
			Slug, Env, Branch, Host, State, URL string
			HeadSHA                             string    `json:"head_sha"`
			ExpiresAt                           time.Time `json:"expires_at"`
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, res.Stdout)
	}
	if len(st.Previews) != 1 {
		t.Fatalf("status lists %d previews, want 1:\n%s", len(st.Previews), res.Stdout)
	}
	got := st.Previews[0]
	if st.App != "hello" || got.Env != p.Env || got.Branch != "feature/status" || got.Host != "feature-status.localhost" ||
		got.State != "ready" || got.HeadSHA != sha || got.URL == "" || time.Until(got.ExpiresAt) < 50*time.Minute {
		t.Errorf("status preview = %+v (head %s)", got, sha)
	}

	text := mustFerry(t, r.repo, r.home, nil, "status", "--env", p.Env).Stdout
	_, section, ok := strings.Cut(text, "\npreviews:\n")
	if !ok {
		t.Fatalf("status has no previews section:\n%s", text)
	}
	for _, want := range []string{"feature/status", p.Env, "ready", sha[:12], got.URL} {
		if !strings.Contains(section, want) {
			t.Errorf("status previews section lacks %q:\n%s", want, section)
		}
	}

	mustFerry(t, r.repo, r.home, nil, "preview", "destroy", p.Slug)
	r.goneFrom(t, p.Host)
}

// TestVerifyDockerImages checks `ferry verify` against the machine's Docker
// engine: a built service needs its Dockerfile, a referenced image must be
// on the engine, and an engine that cannot be reached is a problem named
// after the field, not a crash.
func TestVerifyDockerImages(t *testing.T) {
	engine(t)
	home := t.TempDir()
	dir := filepath.Join(home, "app")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	drv := &docker.Driver{Instance: docker.InstanceFor(home), ImageGrace: -1}
	t.Cleanup(func() {
		drv.RemoveImages(context.Background(), nil)
		drv.Close()
	})
	writeFile(t, filepath.Join(dir, "ctx", "v"), home, 0o644)
	writeFile(t, filepath.Join(dir, "ctx", "Dockerfile"), "FROM scratch\nCOPY v /v\n", 0o644)
	id, err := drv.Build(ctx, docker.BuildSpec{Context: filepath.Join(dir, "ctx")})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("ferry-e2e/verify:%d", time.Now().UnixNano())
	if err := drv.TagImage(ctx, id, tag); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "ctx"))

	def := func(image string) {
		writeFile(t, filepath.Join(dir, "ferry.yaml"), `app: boxed
runtime: docker
services:
  web:
    command: [/hello]
    port: http
    health: {path: /healthz}
`+image, 0o644)
	}
	type problem struct{ Field, Msg string }
	verify := func(env ...string) (int, []problem) {
		t.Helper()
		res := ferry(t, dir, home, env, "verify", "-o", "json")
		var out struct {
			OK       bool
			Problems []problem
		}
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatalf("verify -o json: %v\nstdout:\n%s\nstderr:\n%s", err, res.Stdout, res.Stderr)
		}
		if out.OK != (res.Code == 0) || out.OK != (len(out.Problems) == 0) {
			t.Errorf("verify: exit %d but %+v", res.Code, out)
		}
		return res.Code, out.Problems
	}
	expect := func(what string, code int, ps []problem, field, msg string) {
		t.Helper()
		if code != 1 || len(ps) != 1 || ps[0].Field != field || !strings.Contains(ps[0].Msg, msg) {
			t.Errorf("%s: exit %d, problems %+v; want one of %s saying %q", what, code, ps, field, msg)
		}
	}

	// Built from a Dockerfile: missing, then present.
	def("")
	code, ps := verify()
	expect("no Dockerfile", code, ps, "services.web.image.dockerfile", "Dockerfile does not exist (the image is built from it)")
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\n", 0o644)
	if code, ps := verify(); code != 0 {
		t.Errorf("with the Dockerfile: exit %d, %+v", code, ps)
	}

	// Referenced by tag and by digest: on the engine, then not.
	for _, ref := range []string{tag, id} {
		def(fmt.Sprintf("    image: {ref: %q}\n", ref))
		if code, ps := verify(); code != 0 {
			t.Errorf("image %s on the engine: exit %d, %+v", ref, code, ps)
		}
	}
	def("    image: {ref: \"ferry-e2e/absent:1\"}\n")
	code, ps = verify()
	expect("absent image", code, ps, "services.web.image.ref", "ferry-e2e/absent:1 is not on the Docker engine")

	// An engine that does not answer.
	def(fmt.Sprintf("    image: {ref: %q}\n", tag))
	nowhere := "unix://" + filepath.Join(home, "no-engine.sock")
	code, ps = verify("DOCKER_HOST=" + nowhere)
	expect("engine unreachable", code, ps, "services.web.image.ref", "cannot reach the Docker engine at "+nowhere)
	res := ferry(t, dir, home, []string{"DOCKER_HOST=" + nowhere}, "verify")
	if res.Code != 1 || !strings.Contains(res.Stdout, "ferry.yaml:8:") || !strings.Contains(res.Stdout, "services.web.image.ref") {
		t.Errorf("verify (text), engine unreachable: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}
