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
	return b.String()
}

// Host is the route the suites send their traffic to.
const Host = "hello.localhost"
