package build

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/home"
)

// Step is one build step.
type Step struct {
	Name string
	// Run is a shell command, run with `sh -c` at the checkout's root.
	Run string
	// Env is added to the base environment, and is part of the cache key.
	Env map[string]string
	// Inputs are slash-separated globs relative to the checkout's root;
	// `*` stays within a path element, `**` spans any number of them, and a
	// pattern that names a directory covers everything in it. No inputs means
	// every file of the checkout.
	Inputs []string
}

// Options say what to build.
type Options struct {
	// RepoDir is a directory inside a git repository; the build uses the
	// repository's top level.
	RepoDir string
	// Commit is a commit-ish to build from a clean checkout; "" builds the
	// working tree as it is (tracked and untracked-but-not-ignored files).
	Commit string
	Steps  []Step
	// Output is the directory, relative to the checkout, packed into the
	// artifact once every step has run.
	Output string
	Home   home.Dir
	// Log receives the steps' output line by line, each prefixed with
	// "[step] ". nil discards it.
	Log io.Writer
	// Env is the base environment of every step; nil means ferry's own.
	Env []string
}

// Result is a finished build.
type Result struct {
	Digest string       `json:"digest"`
	Commit string       `json:"commit,omitempty"` // the full sha built, "" for a working tree
	Steps  []StepResult `json:"steps"`
}

// StepResult says how one step was satisfied.
type StepResult struct {
	Name     string        `json:"name"`
	Key      string        `json:"key"`
	Cached   bool          `json:"cached"`
	Duration time.Duration `json:"duration"`
}

// validate checks the options before anything is touched, naming the bad
// field and value.
func (o Options) validate() error {
	if o.Home.Root() == "" {
		return errors.New("build: no ferry home set")
	}
	if o.RepoDir == "" {
		return errors.New("build: no repository directory given")
	}
	if strings.HasPrefix(o.Commit, "-") {
		return fmt.Errorf("build: commit %q: not a commit", o.Commit)
	}
	if err := checkOutput(o.Output); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, s := range o.Steps {
		where := fmt.Sprintf("build: step %d (%q)", i+1, s.Name)
		switch {
		case strings.TrimSpace(s.Name) == "":
			return fmt.Errorf("build: step %d: empty name", i+1)
		case seen[s.Name]:
			return fmt.Errorf("%s: name used twice", where)
		case strings.TrimSpace(s.Run) == "":
			return fmt.Errorf("%s: empty run command", where)
		}
		seen[s.Name] = true
		for k := range s.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return fmt.Errorf("%s: env name %q is not a valid variable name", where, k)
			}
		}
		for _, p := range s.Inputs {
			if err := checkPattern(p); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	return nil
}

func checkOutput(out string) error {
	if out == "" {
		return errors.New("build: no output directory given")
	}
	c := path.Clean(filepath.ToSlash(out))
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("build: output %q: must be a directory inside the repository", out)
	}
	return nil
}
