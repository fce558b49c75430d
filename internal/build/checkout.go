package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ferrycd/ferry/internal/artifact"
)

// git runs the git CLI and returns its trimmed stdout.
func git(ctx context.Context, args ...string) (string, error) {
	out, err := gitOutput(ctx, args...)
	return strings.TrimSpace(string(out)), err
}

// gitOutput runs the git CLI and returns its stdout; its stderr goes into
// the error.
func gitOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = gitEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out.Bytes(), nil
}

// gitEnv is ferry's environment minus what would point git at another
// repository (set when ferry itself runs inside a git hook) or prompt.
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
	return append(env, "GIT_TERMINAL_PROMPT=0")
}

// topLevel returns the top directory of the repository containing dir.
func topLevel(ctx context.Context, dir string) (string, error) {
	top, err := git(ctx, "-C", dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("build: %s is not inside a git repository (%v)", dir, err)
	}
	return top, nil
}

// resolveCommit turns a commit-ish into a full sha.
func resolveCommit(ctx context.Context, repo, commit string) (string, error) {
	sha, err := git(ctx, "-C", repo, "rev-parse", "--verify", "--quiet", "--end-of-options", commit+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("build: commit %q not found in %s", commit, repo)
	}
	return sha, nil
}

// clones manages the cached clones under BuildCacheDir/repos: one bare
// mirror per source repository, sharing its objects (git clone --shared), so
// a clone is cheap and sees every commit of the source at once.
type clones struct{ dir string }

// worktree checks sha out into dir (which must not exist) as a detached
// worktree of the cached clone of repo, and returns how to remove it.
func (c clones) worktree(ctx context.Context, repo, sha, dir string) (remove func(), err error) {
	id := sha256.Sum256([]byte(repo))
	clone := filepath.Join(c.dir, hex.EncodeToString(id[:8])+".git")
	unlock, err := lockFile(ctx, clone+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(clone); errors.Is(err, fs.ErrNotExist) {
		tmp := clone + ".tmp"
		os.RemoveAll(tmp) // left by a crash; we hold the lock
		if _, err := git(ctx, "clone", "--mirror", "--shared", "--quiet", "--", repo, tmp); err != nil {
			return nil, fmt.Errorf("build: caching a clone of %s: %w", repo, err)
		}
		if err := os.Rename(tmp, clone); err != nil {
			return nil, err
		}
	}
	if _, err := git(ctx, "--git-dir="+clone, "cat-file", "-e", sha+"^{commit}"); err != nil {
		if _, err := git(ctx, "--git-dir="+clone, "fetch", "--quiet", "--prune", "origin"); err != nil {
			return nil, fmt.Errorf("build: updating the cached clone of %s: %w", repo, err)
		}
	}
	if _, err := git(ctx, "--git-dir="+clone, "worktree", "add", "--detach", "--force", "--quiet", dir, sha); err != nil {
		return nil, fmt.Errorf("build: checking out %s: %w", sha, err)
	}
	return func() {
		artifact.ForceRemove(dir)
		// Pruning forgets the removed worktree; it needs the clone lock only
		// to keep git's own bookkeeping from racing another checkout.
		if unlock, err := lockFile(context.Background(), clone+".lock"); err == nil {
			git(context.Background(), "--git-dir="+clone, "worktree", "prune")
			unlock()
		}
	}, nil
}

// copyWorkingTree copies the files git would commit from repo — tracked
// and untracked-but-not-ignored, as they are on disk now — into dir, so a
// build never sees ignored output left over from earlier runs. Tracked files
// deleted on disk are skipped, as are submodules.
func copyWorkingTree(ctx context.Context, repo, dir string) error {
	out, err := gitOutput(ctx, "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return fmt.Errorf("build: listing the files of %s: %w", repo, err)
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyEntry(filepath.Join(repo, rel), filepath.Join(dir, rel)); err != nil {
			return fmt.Errorf("build: copying %s: %w", rel, err)
		}
	}
	return nil
}

func copyEntry(src, dst string) error {
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chmod(dst, fi.Mode().Perm())
}
