package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// buildRepo makes a git repository with a two-step ferry.yaml whose steps
// append their names to the file $COUNTER when they really run; appStep is
// the second step's command (YAML single-quoted, so it must not contain ').
func buildRepo(t *testing.T, appStep string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"ferry.yaml": `app: hello
build:
  steps:
    - name: deps
      inputs: [deps.txt]
      run: echo deps >> "$COUNTER"; mkdir -p vendor; cp deps.txt vendor/
    - name: app
      inputs: ["src/**", vendor]
      run: '` + appStep + `'
  output: out
services:
  web:
    command: [./app]
    port: http
`,
		"deps.txt":     "dep\n",
		"src/app.txt":  "hello\n",
		".gitignore":   "out/\nvendor/\n",
		"out/stale.sh": "ignored output of an earlier run\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "init"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

const appStep = `echo app >> "$COUNTER"; echo building; mkdir -p out; cat vendor/deps.txt src/app.txt > out/app`

type buildJSON struct {
	Digest string `json:"digest"`
	Commit string `json:"commit"`
	Steps  []struct {
		Name   string `json:"name"`
		Key    string `json:"key"`
		Cached bool   `json:"cached"`
	} `json:"steps"`
}

func readRuns(t *testing.T, counter string) []string {
	t.Helper()
	b, err := os.ReadFile(counter)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(counter)
	return strings.Fields(string(b))
}

func TestBuildCachesSteps(t *testing.T) {
	repo, home := buildRepo(t, appStep), t.TempDir()
	counter := filepath.Join(t.TempDir(), "runs")
	env := []string{"COUNTER=" + counter}

	r := mustFerry(t, repo, home, env, "build")
	if !strings.Contains(r.Stdout, "sha256:") || !strings.Contains(r.Stdout, "deps") || strings.Count(r.Stdout, "ran") != 2 {
		t.Fatalf("first build output:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "[app] building") {
		t.Fatalf("step output not streamed:\n%s", r.Stderr)
	}
	if got := readRuns(t, counter); strings.Join(got, " ") != "deps app" {
		t.Fatalf("first build ran %v", got)
	}

	// The clean working tree and HEAD are the same source: every step is reused.
	r = mustFerry(t, repo, home, env, "build", "--commit", "HEAD", "-o", "json")
	var res buildJSON
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("json output: %v\n%s", err, r.Stdout)
	}
	if len(res.Steps) != 2 || !res.Steps[0].Cached || !res.Steps[1].Cached || len(res.Commit) != 40 || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("second build: %+v", res)
	}
	if got := readRuns(t, counter); len(got) != 0 {
		t.Fatalf("second build ran %v", got)
	}
	art := filepath.Join(home, "artifacts", strings.TrimPrefix(res.Digest, "sha256:")+".tar.gz")
	if _, err := os.Stat(art); err != nil {
		t.Fatalf("artifact not stored: %v", err)
	}
}

func TestConcurrentBuildProcessesRunEachStepOnce(t *testing.T) {
	repo, home := buildRepo(t, appStep), t.TempDir()
	counter := filepath.Join(t.TempDir(), "runs")
	env := []string{"COUNTER=" + counter}
	const n = 3
	digests := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := ferry(t, repo, home, env, "build", "--commit", "HEAD", "-o", "json")
			var res buildJSON
			if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil {
				t.Errorf("build %d: exit %d\n%s\n%s", i, r.Code, r.Stdout, r.Stderr)
			}
			digests[i] = res.Digest
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range n {
		if digests[i] != digests[0] {
			t.Fatalf("digests differ: %v", digests)
		}
	}
	if got := readRuns(t, counter); strings.Join(got, " ") != "deps app" {
		t.Fatalf("%d concurrent ferry processes ran %v, want each step once", n, got)
	}
}

func TestBuildFailingStep(t *testing.T) {
	repo, home := buildRepo(t, `echo "src/app.txt:1: syntax error" >&2; exit 7`), t.TempDir()
	r := ferry(t, repo, home, []string{"COUNTER=" + filepath.Join(t.TempDir(), "runs")}, "build")
	if r.Code == 0 {
		t.Fatal("a failing step exited 0")
	}
	for _, want := range []string{`build step "app"`, "exit code 7", "src/app.txt:1: syntax error"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, r.Stderr)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(home, "artifacts")); len(entries) != 0 {
		t.Fatalf("a failed build stored an artifact: %v", entries)
	}
}

func TestBuildHelpAndBadInput(t *testing.T) {
	home := t.TempDir()
	if r := mustFerry(t, t.TempDir(), home, nil, "build", "--help"); !strings.Contains(r.Stdout, "Examples:") {
		t.Fatalf("help has no examples:\n%s", r.Stdout)
	}
	repo := buildRepo(t, appStep)
	r := ferry(t, repo, home, nil, "build", "--commit", "no-such-commit")
	if r.Code == 0 || !strings.Contains(r.Stderr, `commit "no-such-commit" not found`) {
		t.Fatalf("unknown commit: exit %d\n%s", r.Code, r.Stderr)
	}
	r = ferry(t, repo, home, nil, "build", "--file", "missing.yaml")
	if r.Code == 0 || !strings.Contains(r.Stderr, "missing.yaml") {
		t.Fatalf("missing file: exit %d\n%s", r.Code, r.Stderr)
	}
}
