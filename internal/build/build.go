package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/artifact"
)

// Build checks out the source, runs the steps (restoring cached layers where
// their keys match) and packs the output into the artifact store.
//
// Concurrent builds of the same commit, steps and output in this process
// share one run and one Result (only the first caller's Log sees the output).
// Across processes, and between builds that merely share steps, each step key
// is locked while it is produced, so every step runs at most once and the
// others restore its layer.
func Build(ctx context.Context, o Options) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	repo, err := topLevel(ctx, o.RepoDir)
	if err != nil {
		return Result{}, err
	}
	if o.Commit == "" {
		return run(ctx, o, repo, "")
	}
	sha, err := resolveCommit(ctx, repo, o.Commit)
	if err != nil {
		return Result{}, err
	}
	return flights.do(ctx, flightKey(repo, sha, o), func() (Result, error) {
		return run(ctx, o, repo, sha)
	})
}

// flightKey identifies what a commit build produces.
func flightKey(repo, sha string, o Options) string {
	h := sha256.New()
	for _, f := range []string{o.Home.Root(), repo, sha, o.Output, strings.Join(o.Env, "\x00")} {
		writeField(h, f)
	}
	for _, s := range o.Steps {
		writeField(h, stepKey("", s, nil))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func run(ctx context.Context, o Options, repo, sha string) (Result, error) {
	cache := o.Home.BuildCacheDir()
	workRoot := filepath.Join(cache, "work")
	if err := os.MkdirAll(workRoot, 0o700); err != nil {
		return Result{}, fmt.Errorf("build: %w", err)
	}
	work, err := os.MkdirTemp(workRoot, "build-")
	if err != nil {
		return Result{}, fmt.Errorf("build: %w", err)
	}
	defer artifact.ForceRemove(work)
	src := filepath.Join(work, "src")
	if sha != "" {
		remove, err := clones{dir: filepath.Join(cache, "repos")}.worktree(ctx, repo, sha, src)
		if err != nil {
			return Result{}, err
		}
		defer remove()
	} else if err := copyWorkingTree(ctx, repo, src); err != nil {
		return Result{}, err
	}

	base := o.Env
	if base == nil {
		base = os.Environ()
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	st := stepper{
		layers: layers{dir: filepath.Join(cache, "steps")},
		locks:  filepath.Join(cache, "locks"),
		src:    src, base: base, log: log,
	}
	man, err := scan(src, nil)
	if err != nil {
		return Result{}, fmt.Errorf("build: %w", err)
	}
	res := Result{Commit: sha}
	prev := ""
	for _, s := range o.Steps {
		key := stepKey(prev, s, man)
		start := time.Now()
		cached, after, err := st.step(ctx, key, s, man)
		if err != nil {
			return Result{}, err
		}
		res.Steps = append(res.Steps, StepResult{Name: s.Name, Key: key, Cached: cached, Duration: time.Since(start)})
		man, prev = after, key
	}

	out := filepath.Join(src, filepath.FromSlash(o.Output))
	if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
		return Result{}, fmt.Errorf("build: output directory %q does not exist after the build steps ran", o.Output)
	}
	if filepath.Clean(out) == filepath.Clean(src) {
		// Packing the whole checkout: leave out a worktree's link back to
		// the cached clone, which differs between checkouts.
		os.Remove(filepath.Join(src, ".git"))
	}
	a, err := artifact.Store{Home: o.Home}.Put(ctx, out)
	if err != nil {
		return Result{}, fmt.Errorf("build: packing output %q: %w", o.Output, err)
	}
	res.Digest = a.Digest
	return res, nil
}

// stepper satisfies one step at a time in a checkout.
type stepper struct {
	layers layers
	locks  string
	src    string
	base   []string
	log    io.Writer
}

// step restores the layer of key if there is one, or runs s and stores its
// layer, and returns the checkout's manifest afterwards.
func (st stepper) step(ctx context.Context, key string, s Step, before manifest) (cached bool, after manifest, err error) {
	unlock, err := lockFile(ctx, filepath.Join(st.locks, key+".lock"))
	if err != nil {
		return false, nil, fmt.Errorf("build step %q: %w", s.Name, err)
	}
	defer unlock()
	if st.layers.has(key) {
		info, err := st.layers.load(key)
		if err == nil {
			fmt.Fprintf(st.log, "[%s] cached\n", s.Name)
			if err := st.layers.apply(ctx, key, info, st.src); err != nil {
				return false, nil, fmt.Errorf("build step %q: %w", s.Name, err)
			}
			st.layers.touch(key) // a use: pruning takes the least recently used first
			after, err := scan(st.src, before)
			if err != nil {
				return false, nil, fmt.Errorf("build step %q: %w", s.Name, err)
			}
			return true, after, nil
		}
		// Nothing has touched the checkout yet: drop the bad layer and run
		// the step as if it had never been cached.
		fmt.Fprintf(st.log, "[%s] discarding the cached layer and running the step: %v\n", s.Name, err)
		if err := st.layers.discard(key); err != nil {
			return false, nil, fmt.Errorf("build step %q: %w", s.Name, err)
		}
	}
	if err := runStep(ctx, st.src, st.base, s, st.log); err != nil {
		return false, nil, err
	}
	after, err = scan(st.src, before)
	if err != nil {
		return false, nil, fmt.Errorf("build step %q: %w", s.Name, err)
	}
	changed, deleted := diff(before, after)
	if err := st.layers.save(ctx, key, s.Name, st.src, changed, deleted); err != nil {
		return false, nil, fmt.Errorf("build step %q: caching its layer: %w", s.Name, err)
	}
	return false, after, nil
}
