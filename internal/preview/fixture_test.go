package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/store"
)

// definition is the app the fixtures preview; {{extra}} is replaced by
// the test's preview settings.
const definition = `app: shop
build:
  steps:
    - name: app
      run: mkdir -p out && cp web version out/
  output: out
services:
  web:
    command: [./web]
    port: http
    routes: [{host: shop.example.com}]
    env: {GREETING: hello}
environments:
  staging: {services: {web: {count: 2}}}
preview:
{{extra}}`

// repo is a real git repository (with a work tree) and a bare clone of it
// standing in for GitHub.
type repo struct {
	t    *testing.T
	dir  string
	bare string
}

func newRepo(t *testing.T, extra string) *repo {
	t.Helper()
	r := &repo{t: t, dir: t.TempDir(), bare: filepath.Join(t.TempDir(), "shop.git")}
	r.git("init", "--quiet", "--initial-branch=main")
	if extra == "" {
		extra = "  ttl: 1h"
	}
	r.write(map[string]string{"ferry.yaml": strings.ReplaceAll(definition, "{{extra}}", extra), "web": "#!/bin/sh\n", "version": "1"})
	r.commit("initial")
	r.git("clone", "--quiet", "--bare", r.dir, r.bare)
	r.git("remote", "add", "origin", r.bare)
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(files map[string]string) {
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(text), 0o755); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *repo) commit(msg string) string {
	r.git("add", "-A")
	r.git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// branch creates (or moves to) branch with a new version and pushes it;
// it returns the new head.
func (r *repo) branch(name, version string) string {
	r.git("checkout", "--quiet", "-B", name)
	r.write(map[string]string{"version": version})
	sha := r.commit(name + " " + version)
	r.git("push", "--quiet", "--force", "origin", name)
	r.git("checkout", "--quiet", "main")
	return sha
}

// envs records what previews ask of the controller; fail makes Destroy
// fail while set.
type envs struct {
	mu        sync.Mutex
	deploys   []Deploy
	destroyed []string
	live      map[string]bool
	failNext  error
	gates     map[string]chan struct{} // environment → closed when its deploys may go on
	entered   chan string              // a held deploy's environment, as it reaches its gate
}

// hold makes deploys to env wait until release is called; held reports
// each one as it starts waiting.
func (e *envs) hold(env string) (held <-chan string, release func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gates == nil {
		e.gates, e.entered = map[string]chan struct{}{}, make(chan string, 16)
	}
	gate := make(chan struct{})
	e.gates[env] = gate
	var once sync.Once
	return e.entered, func() { once.Do(func() { close(gate) }) }
}

func (e *envs) Deploy(ctx context.Context, req Deploy) error {
	e.mu.Lock()
	gate := e.gates[req.Environment]
	e.mu.Unlock()
	if gate != nil {
		e.entered <- req.Environment
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live == nil {
		e.live = map[string]bool{}
	}
	e.deploys = append(e.deploys, req)
	e.live[req.App+"/"+req.Environment] = true
	return nil
}

func (e *envs) Destroy(ctx context.Context, app, env string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.failNext; err != nil {
		e.failNext = nil
		return err
	}
	e.destroyed = append(e.destroyed, app+"/"+env)
	delete(e.live, app+"/"+env)
	return nil
}

func (e *envs) snapshot() ([]Deploy, []string, map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	live := map[string]bool{}
	for k, v := range e.live {
		live[k] = v
	}
	return append([]Deploy(nil), e.deploys...), append([]string(nil), e.destroyed...), live
}

var errRouterDown = errors.New("router: connection refused")

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	repo  *repo
	st    *store.Store
	envs  *envs
	clock *clock
	m     *Manager
}

func newFixture(t *testing.T, extra string, rep Reporter) *fixture {
	t.Helper()
	r := newRepo(t, extra)
	h, err := home.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), h.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{repo: r, st: st, envs: &envs{}, clock: &clock{t: time.Now().UTC()}}
	f.m = New(Config{
		Store: st, Home: h, Environments: f.envs, Reporter: rep, Repos: map[string]string{"acme/shop": r.bare},
		PushEnv: "staging", Clock: f.clock.now, Poll: 20 * time.Millisecond,
		LogURL: func(p store.Preview) string { return fmt.Sprintf("http://ferry.test/previews/%d/events", p.ID) },
	})
	return f
}

func (f *fixture) preview(t *testing.T, k store.PreviewKey) (store.Preview, bool) {
	t.Helper()
	p, err := f.st.FindPreview(context.Background(), k)
	if errors.Is(err, store.ErrNotFound) {
		return p, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, true
}

// prPayload is a pull_request delivery shaped like GitHub's documented
// example, for the fixture's repository.
func prPayload(action string, pr int, branch, sha string, merged bool, labels ...string) []byte {
	ls := []map[string]any{}
	for _, l := range labels {
		ls = append(ls, map[string]any{"id": 1, "name": l, "color": "d73a4a"})
	}
	repo := map[string]any{"id": 186853002, "name": "shop", "full_name": "acme/shop", "default_branch": "main",
		"clone_url": "https://github.com/acme/shop.git"}
	doc := map[string]any{
		"action": action, "number": pr,
		"pull_request": map[string]any{
			"number": pr, "state": "open", "merged": merged, "labels": ls,
			"head": map[string]any{"ref": branch, "sha": sha, "repo": repo},
			"base": map[string]any{"ref": "main", "sha": strings.Repeat("f", 40), "repo": repo},
		},
		"repository": repo, "sender": map[string]any{"login": "octocat", "id": 1},
	}
	b, _ := json.Marshal(doc)
	return b
}

// pushPayload is a push delivery of branch to after (deleted: the branch
// was deleted) for the fixture's repository.
func pushPayload(branch, after string, deleted bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/" + branch, "before": strings.Repeat("1", 40), "after": after, "deleted": deleted,
		"repository": map[string]any{"full_name": "acme/shop", "default_branch": "main", "clone_url": "https://github.com/acme/shop.git"},
		"pusher":     map[string]any{"name": "octocat"},
	})
	return b
}
