package preview

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// definitionFile is where an app keeps its definition in its repository.
const definitionFile = "ferry.yaml"

// sources fetches commits of source repositories into clones under dir: a
// clone URL or a bare repository is cloned (once) and fetched before each
// use; a local repository with a work tree is used as it is.
type sources struct {
	dir string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// lock serialises fetches into one clone.
func (s *sources) lock(key string) func() {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	l := s.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[key] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// fetch makes commit (a sha, or a branch name when sha is "") available
// and returns the repository directory to build from and the full sha.
func (s *sources) fetch(ctx context.Context, source, branch, sha string) (dir, full string, err error) {
	if source == "" {
		return "", "", errors.New("no source repository")
	}
	if top, err := git(ctx, "-C", source, "rev-parse", "--show-toplevel"); err == nil && !strings.HasPrefix(source, "-") {
		ref := sha
		if ref == "" {
			ref = "refs/heads/" + branch
		}
		full, err := resolve(ctx, top, ref)
		return top, full, err
	}
	sum := sha256.Sum256([]byte(source))
	dir = filepath.Join(s.dir, hex.EncodeToString(sum[:8]))
	defer s.lock(dir)()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return "", "", err
		}
		tmp := dir + ".tmp"
		os.RemoveAll(tmp) // left by a crash; we hold the lock
		if _, err := git(ctx, "clone", "--no-checkout", "--quiet", "--", source, tmp); err != nil {
			return "", "", fmt.Errorf("cloning %s: %w", source, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", "", err
		}
	}
	ref := sha
	if ref == "" {
		ref = "refs/remotes/origin/" + branch
	}
	if sha == "" || !has(ctx, dir, sha) {
		if _, err := git(ctx, "-C", dir, "fetch", "--quiet", "--prune", "origin",
			"+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*/head:refs/remotes/pull/*"); err != nil {
			return "", "", fmt.Errorf("fetching %s: %w", source, err)
		}
	}
	full, err = resolve(ctx, dir, ref)
	return dir, full, err
}

// read returns the file at path in commit sha of the repository in dir.
func read(ctx context.Context, dir, sha, path string) ([]byte, error) {
	out, err := gitOutput(ctx, "-C", dir, "show", sha+":"+path)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %.12s: %w", path, sha, err)
	}
	return out, nil
}

func has(ctx context.Context, dir, sha string) bool {
	_, err := git(ctx, "-C", dir, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

func resolve(ctx context.Context, dir, ref string) (string, error) {
	if strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("%q is not a commit", ref)
	}
	sha, err := git(ctx, "-C", dir, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("commit %q not found in %s", ref, dir)
	}
	return sha, nil
}

// Branches returns the branches of the local repository dir and their head
// commits, and its default branch (what HEAD points at).
func Branches(ctx context.Context, dir string) (heads map[string]string, def string, err error) {
	out, err := git(ctx, "-C", dir, "for-each-ref", "--format=%(objectname) %(refname:short)", "refs/heads/")
	if err != nil {
		return nil, "", err
	}
	heads = map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			heads[name] = sha
		}
	}
	def, err = git(ctx, "-C", dir, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		return nil, "", fmt.Errorf("%s: HEAD names no branch: %w", dir, err)
	}
	return heads, def, nil
}

func git(ctx context.Context, args ...string) (string, error) {
	out, err := gitOutput(ctx, args...)
	return strings.TrimSpace(string(out)), err
}

func gitOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(gitEnv(), "GIT_TERMINAL_PROMPT=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.Bytes(), nil
}

// gitEnv is ferry's environment minus what would point git elsewhere.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR":
			continue
		}
		env = append(env, kv)
	}
	return env
}
