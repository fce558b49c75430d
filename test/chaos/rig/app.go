package rig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferrycd/ferry/examples"
)

// App is a copy of examples/hello whose ferry.yaml the suite rewrites
// before each deployment.
type App struct {
	Dir  string
	File string
}

// Spec is what a suite varies in hello's ferry.yaml.
type Spec struct {
	Count int
	// Deploy is the service's deploy: mapping ("" keeps the default,
	// rolling), e.g. "{strategy: blue_green}".
	Deploy string
	Env    map[string]string
	// Preview is the top-level preview: mapping ("" writes none, and
	// previews get the defaults), e.g. "{ttl: 1h}".
	Preview string
}

// NewApp writes the hello example into dir, a git repository as builds need.
func NewApp(dir string) (App, error) {
	if err := examples.Extract("hello", dir); err != nil {
		return App{}, err
	}
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		return App{}, fmt.Errorf("git init %s: %v: %s", dir, err, out)
	}
	return App{Dir: dir, File: filepath.Join(dir, "ferry.yaml")}, nil
}

// Write replaces the app's ferry.yaml with s. Health checks are fast (every
// 250ms; a task is unhealthy after 2s of failures) so that a round of
// chaos takes seconds.
func (a App) Write(s Spec) error {
	return os.WriteFile(a.File, []byte(s.yaml()), 0o644)
}

func (s Spec) yaml() string {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, `app: hello
build:
  steps:
    - name: app
      inputs: ["*.go"]
      run: CGO_ENABLED=0 go build -o out/hello .
  output: out/
services:
  web:
    command: [./hello]
    port: http
    count: %d
    health: {path: /healthz, interval: 250ms, timeout: 1s, unhealthy_threshold: 8}
    stop_timeout: 3s
    drain_timeout: 5s
    routes: [{host: %s}]
`, max(s.Count, 1), Host)
	if s.Deploy != "" {
		fmt.Fprintf(&b, "    deploy: %s\n", s.Deploy)
	}
	if len(keys) > 0 {
		b.WriteString("    env:\n")
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "      %s: %q\n", k, s.Env[k])
	}
	if s.Preview != "" {
		fmt.Fprintf(&b, "preview: %s\n", s.Preview)
	}
	return b.String()
}

// Branch points branch at a new commit of the app's files as they are now
// (ferry.yaml included) and returns its sha. It touches neither the work
// tree, nor the index, nor HEAD: the commit is made through an index of
// its own, so a deploy building the working directory meanwhile sees
// exactly what it saw before.
func (a App) Branch(branch string) (string, error) {
	gitDir := filepath.Join(a.Dir, ".git")
	index := filepath.Join(gitDir, "chaos-index-"+branch)
	defer os.Remove(index)
	run := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=chaos", "-c", "user.email=chaos@localhost"}, args...)...)
		cmd.Dir = a.Dir
		cmd.Env = append(os.Environ(), "GIT_INDEX_FILE="+index)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		return strings.TrimSpace(out.String()), nil
	}
	if _, err := run("add", "-A"); err != nil {
		return "", err
	}
	tree, err := run("write-tree")
	if err != nil {
		return "", err
	}
	sha, err := run("commit-tree", tree, "-m", "chaos: "+branch)
	if err != nil {
		return "", err
	}
	if _, err := run("update-ref", "refs/heads/"+branch, sha); err != nil {
		return "", err
	}
	return sha, nil
}

// Host is the route the suites send their traffic to.
const Host = "hello.localhost"
