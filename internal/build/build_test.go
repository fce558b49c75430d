package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/home"
)

// fixture is a real git repository and a ferry home, with a counter file
// outside both that every step appends its name to when it really runs.
type fixture struct {
	t       testing.TB
	repo    string
	home    home.Dir
	counter string
}

func newFixture(t testing.TB, files map[string]string) *fixture {
	t.Helper()
	h, err := home.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, repo: t.TempDir(), home: h, counter: filepath.Join(t.TempDir(), "ran")}
	f.git("init", "--quiet", "--initial-branch=main")
	f.write(files)
	f.commit("initial")
	return f
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = f.repo
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (f *fixture) write(files map[string]string) {
	f.t.Helper()
	for name, content := range files {
		p := filepath.Join(f.repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) commit(msg string) string {
	f.t.Helper()
	f.git("add", "-A")
	f.git("commit", "--quiet", "-m", msg)
	return f.git("rev-parse", "HEAD")
}

// ran returns the steps that really ran since the last call.
func (f *fixture) ran() []string {
	f.t.Helper()
	b, err := os.ReadFile(f.counter)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	os.Remove(f.counter)
	return strings.Fields(string(b))
}

func (f *fixture) opts(commit string, steps []Step) Options {
	return Options{RepoDir: f.repo, Commit: commit, Steps: steps, Output: "out", Home: f.home,
		Env: append(os.Environ(), "COUNTER="+f.counter)}
}

func (f *fixture) build(o Options) Result {
	f.t.Helper()
	r, err := Build(context.Background(), o)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// released unpacks the artifact of r and returns the content of a file in it.
func (f *fixture) released(r Result, name string) string {
	f.t.Helper()
	dir, err := artifact.Store{Home: f.home}.Unpack(context.Background(), r.Digest)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

var appFiles = map[string]string{
	"deps.txt":     "dep-v1\n",
	"src/main.txt": "main-v1\n",
	"README":       "readme-v1\n",
	".gitignore":   "out/\nvendor/\n",
}

// layered are three steps in the shape of seed 004's base / app_base / app.
var layered = []Step{
	{Name: "deps", Inputs: []string{"deps.txt"}, Run: `echo deps >> "$COUNTER"; mkdir -p vendor; cp deps.txt vendor/deps`},
	{Name: "compile", Inputs: []string{"src/**", "vendor"}, Env: map[string]string{"FLAVOUR": "plain"},
		Run: `echo compile >> "$COUNTER"; echo "compiling $FLAVOUR"; mkdir -p out; cat vendor/deps src/*.txt > out/app; echo "$FLAVOUR" >> out/app; chmod +x out/app`},
	{Name: "package", Inputs: []string{"README", "out/**"}, Run: `echo package >> "$COUNTER"; cp README out/README`},
}

func cachedFlags(r Result) []bool {
	var out []bool
	for _, s := range r.Steps {
		out = append(out, s.Cached)
	}
	return out
}

func eq[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSecondBuildReusesEveryStep(t *testing.T) {
	f := newFixture(t, appFiles)
	var log bytes.Buffer
	o := f.opts("HEAD", layered)
	o.Log = &log
	first := f.build(o)
	if got := f.ran(); !eq(got, []string{"deps", "compile", "package"}) {
		t.Fatalf("first build ran %v", got)
	}
	if !eq(cachedFlags(first), []bool{false, false, false}) {
		t.Fatalf("first build cached flags %v", cachedFlags(first))
	}
	if first.Commit != f.git("rev-parse", "HEAD") {
		t.Fatalf("result commit %q", first.Commit)
	}
	if got := f.released(first, "app"); got != "dep-v1\nmain-v1\nplain\n" {
		t.Fatalf("artifact app = %q", got)
	}

	second := f.build(f.opts("main", layered))
	if got := f.ran(); len(got) != 0 {
		t.Fatalf("second build of an unchanged commit ran %v", got)
	}
	if !eq(cachedFlags(second), []bool{true, true, true}) || second.Digest != first.Digest {
		t.Fatalf("second build: cached %v digest %s (first %s)", cachedFlags(second), second.Digest, first.Digest)
	}
	for i := range first.Steps {
		if first.Steps[i].Key != second.Steps[i].Key || first.Steps[i].Name != second.Steps[i].Name {
			t.Fatalf("step %d: %+v vs %+v", i, first.Steps[i], second.Steps[i])
		}
	}
	// Checkouts are removed, and git forgets their worktrees.
	if entries, _ := os.ReadDir(filepath.Join(f.home.BuildCacheDir(), "work")); len(entries) != 0 {
		t.Fatalf("checkouts left behind: %v", entries)
	}
	clones, _ := filepath.Glob(filepath.Join(f.home.BuildCacheDir(), "repos", "*.git"))
	if len(clones) != 1 {
		t.Fatalf("cached clones %v, want one", clones)
	}
	if wts, _ := os.ReadDir(filepath.Join(clones[0], "worktrees")); len(wts) != 0 {
		t.Fatalf("worktrees not pruned: %v", wts)
	}
	if !strings.Contains(log.String(), "[compile] compiling plain\n") {
		t.Fatalf("log did not stream step output: %q", log.String())
	}
}

func TestChangingOneStepsInputsRebuildsItAndLaterSteps(t *testing.T) {
	f := newFixture(t, appFiles)
	first := f.build(f.opts("HEAD", layered))
	f.ran()

	f.write(map[string]string{"src/main.txt": "main-v2\n"})
	f.commit("change the app")
	r := f.build(f.opts("HEAD", layered))
	if got := f.ran(); !eq(got, []string{"compile", "package"}) {
		t.Fatalf("after an app change ran %v, want compile and package", got)
	}
	if !eq(cachedFlags(r), []bool{true, false, false}) || r.Steps[0].Key != first.Steps[0].Key {
		t.Fatalf("cached %v", cachedFlags(r))
	}
	if got := f.released(r, "app"); got != "dep-v1\nmain-v2\nplain\n" {
		t.Fatalf("artifact app = %q", got)
	}

	f.write(map[string]string{"README": "readme-v2\n"})
	f.commit("change the readme")
	r = f.build(f.opts("HEAD", layered))
	if got := f.ran(); !eq(got, []string{"package"}) {
		t.Fatalf("after a README change ran %v, want package only", got)
	}
	if got := f.released(r, "README"); got != "readme-v2\n" {
		t.Fatalf("artifact README = %q", got)
	}

	// The step's own definition is an input too.
	changed := append([]Step(nil), layered...)
	changed[1].Env = map[string]string{"FLAVOUR": "spicy"}
	r = f.build(f.opts("HEAD", changed))
	if got := f.ran(); !eq(got, []string{"compile", "package"}) {
		t.Fatalf("after an env change ran %v", got)
	}
	if got := f.released(r, "app"); got != "dep-v1\nmain-v2\nspicy\n" {
		t.Fatalf("artifact app = %q", got)
	}
}

func TestCommitBuildIgnoresUncommittedChanges(t *testing.T) {
	f := newFixture(t, appFiles)
	committed := f.build(f.opts("HEAD", layered))
	f.write(map[string]string{"src/main.txt": "dirty\n", "src/new.txt": "untracked\n", "out/stale": "old output\n"})

	r := f.build(f.opts("HEAD", layered))
	if r.Digest != committed.Digest {
		t.Fatalf("commit build saw the working tree: %s vs %s", r.Digest, committed.Digest)
	}

	wt := f.build(f.opts("", layered))
	if wt.Commit != "" {
		t.Fatalf("working tree build reports commit %q", wt.Commit)
	}
	if got := f.released(wt, "app"); got != "dep-v1\ndirty\nuntracked\nplain\n" {
		t.Fatalf("working tree artifact app = %q", got)
	}
	dir, err := artifact.Store{Home: f.home}.Unpack(context.Background(), wt.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); err == nil {
		t.Fatal("ignored output from the working tree leaked into the build")
	}
}

func TestConcurrentBuildsRunEachStepOnce(t *testing.T) {
	f := newFixture(t, appFiles)
	const n = 6
	results := make([]Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// Half share one flight (same commit); the working-tree builds of the
		// clean checkout have the same step keys and meet at the step locks.
		commit := "HEAD"
		if i%2 == 1 {
			commit = ""
		}
		wg.Go(func() { results[i], errs[i] = Build(context.Background(), f.opts(commit, layered)) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("build %d: %v", i, errs[i])
		}
		if results[i].Digest != results[0].Digest {
			t.Fatalf("build %d digest %s, build 0 %s", i, results[i].Digest, results[0].Digest)
		}
	}
	if got := f.ran(); !eq(got, []string{"deps", "compile", "package"}) {
		t.Fatalf("concurrent builds ran %v, want each step once", got)
	}
}

func TestCachedLayerReplaysDeletionsAndModes(t *testing.T) {
	f := newFixture(t, map[string]string{"out/legacy": "remove me\n", "out/keep": "kept\n", "tool.sh": "echo tool\n"})
	steps := []Step{{Name: "shape", Run: `echo shape >> "$COUNTER"; rm out/legacy; chmod 755 tool.sh; mkdir out/empty; ln -s keep out/link; cp -p tool.sh out/`}}
	first := f.build(f.opts("HEAD", steps))
	second := f.build(f.opts("HEAD", steps))
	if got := f.ran(); !eq(got, []string{"shape"}) {
		t.Fatalf("ran %v", got)
	}
	if !second.Steps[0].Cached || second.Digest != first.Digest {
		t.Fatalf("replayed layer gave digest %s, want %s (cached %v)", second.Digest, first.Digest, second.Steps[0].Cached)
	}
	dir, err := artifact.Store{Home: f.home}.Unpack(context.Background(), second.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "legacy")); err == nil {
		t.Fatal("deleted file is in the artifact")
	}
	if fi, err := os.Stat(filepath.Join(dir, "tool.sh")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("tool.sh: %v %v, want executable", fi, err)
	}
}

func TestFailingStepError(t *testing.T) {
	f := newFixture(t, appFiles)
	var log bytes.Buffer
	steps := []Step{layered[0], {Name: "compile", Run: `echo compile >> "$COUNTER"; echo compiling; echo "main.go:3: undefined: x" >&2; exit 3`}}
	o := f.opts("HEAD", steps)
	o.Log = &log
	_, err := Build(context.Background(), o)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "compile" || se.ExitCode != 3 {
		t.Fatalf("got %v, want a StepError for compile with exit code 3", err)
	}
	for _, want := range []string{`"compile"`, "exit code 3", "main.go:3: undefined: x", "compiling"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !strings.Contains(log.String(), "[compile] main.go:3: undefined: x\n") {
		t.Errorf("stderr did not stream to the log: %q", log.String())
	}
	f.ran()
	// A failed step caches nothing: the next build runs it again.
	Build(context.Background(), f.opts("HEAD", steps))
	if got := f.ran(); !eq(got, []string{"compile"}) {
		t.Fatalf("rebuild ran %v, want the failed step again", got)
	}
}

func TestMissingOutput(t *testing.T) {
	f := newFixture(t, appFiles)
	o := f.opts("HEAD", layered)
	o.Output = "dist"
	_, err := Build(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), `output directory "dist" does not exist`) {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(f.home.ArtifactsDir()); len(entries) != 0 {
		t.Fatalf("stored artifacts: %v", entries)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, appFiles)
	ok := f.opts("HEAD", layered)
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"absolute output", func(o *Options) { o.Output = "/etc" }, `output "/etc"`},
		{"escaping output", func(o *Options) { o.Output = "../x" }, `output "../x"`},
		{"no output", func(o *Options) { o.Output = "" }, "no output"},
		{"no home", func(o *Options) { o.Home = home.Dir{} }, "no ferry home"},
		{"unknown commit", func(o *Options) { o.Commit = "nope" }, `commit "nope" not found`},
		{"option as commit", func(o *Options) { o.Commit = "--output=/tmp/x" }, "not a commit"},
		{"not a repository", func(o *Options) { o.RepoDir = t.TempDir() }, "not inside a git repository"},
		{"bad glob", func(o *Options) { o.Steps = []Step{{Name: "a", Run: "true", Inputs: []string{"src/["}}} }, `step 1 ("a"): input "src/["`},
		{"escaping input", func(o *Options) { o.Steps = []Step{{Name: "a", Run: "true", Inputs: []string{"../x"}}} }, `input "../x"`},
		{"duplicate name", func(o *Options) { o.Steps = []Step{{Name: "a", Run: "true"}, {Name: "a", Run: "true"}} }, `step 2 ("a"): name used twice`},
		{"empty run", func(o *Options) { o.Steps = []Step{{Name: "a"}} }, "empty run command"},
		{"empty name", func(o *Options) { o.Steps = []Step{{Run: "true"}} }, "step 1: empty name"},
		{"bad env", func(o *Options) { o.Steps = []Step{{Name: "a", Run: "true", Env: map[string]string{"A=B": "x"}}} }, `env name "A=B"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			_, err := Build(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if got := f.ran(); len(got) > 0 {
		t.Fatalf("bad input ran steps %v", got)
	}
	if entries, _ := os.ReadDir(f.home.ArtifactsDir()); len(entries) != 0 {
		t.Fatalf("bad input stored artifacts: %v", entries)
	}
}

func TestCorruptedLayerIsRebuilt(t *testing.T) {
	f := newFixture(t, appFiles)
	first := f.build(f.opts("HEAD", layered))
	f.ran()
	archive := filepath.Join(f.home.BuildCacheDir(), "steps", first.Steps[1].Key, layerArchive)
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o := f.opts("HEAD", layered)
	o.Log = &log
	r := f.build(o)
	if got := f.ran(); !eq(got, []string{"compile"}) {
		t.Fatalf("ran %v, want the step with the damaged layer only", got)
	}
	if r.Digest != first.Digest || !strings.Contains(log.String(), "[compile] discarding the cached layer") || !strings.Contains(log.String(), "corrupted") {
		t.Fatalf("digest %s (want %s), log:\n%s", r.Digest, first.Digest, log.String())
	}
}
