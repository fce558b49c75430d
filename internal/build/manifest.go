package build

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// entry is what the manifest knows of one path of the checkout.
type entry struct {
	Mode fs.FileMode // type and permission bits
	// Sum is the sha256 of a file's content or a symlink's target; "" for
	// directories.
	Sum  string
	stat statKey
}

// statKey is the inode metadata that, unchanged, lets a rescan trust the
// previous content hash (git's index makes the same bet). ctime moves on
// every write and chmod, so a rewrite within one mtime tick is still seen.
type statKey struct {
	size, mtime, ctime int64
	ino                uint64
}

// manifest maps slash-separated paths of a checkout to their entries.
type manifest map[string]entry

// scan builds the manifest of root, excluding the top-level .git (a
// worktree's pointer to its repository). Hashes of files whose stat is
// unchanged since prev are reused.
func scan(root string, prev manifest) (manifest, error) {
	m := manifest{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{Mode: fi.Mode().Type() | fi.Mode().Perm(), stat: statOf(fi)}
		switch {
		case fi.IsDir():
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Sum = target
		case fi.Mode().IsRegular():
			if old, ok := prev[rel]; ok && old.stat == e.stat && old.Mode == e.Mode {
				e.Sum = old.Sum
			} else if e.Sum, err = hashFile(p); err != nil {
				return err
			}
		default:
			return &fs.PathError{Op: "scan", Path: p, Err: fs.ErrInvalid}
		}
		m[rel] = e
		return nil
	})
	return m, err
}

func statOf(fi fs.FileInfo) statKey {
	k := statKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ctime = st.Ctim.Nano()
		k.ino = st.Ino
	}
	return k
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// diff returns the paths that after adds or changes relative to before
// (content, mode or type), and the paths it no longer has, both sorted.
func diff(before, after manifest) (changed, deleted []string) {
	for p, a := range after {
		if b, ok := before[p]; !ok || b.Mode != a.Mode || b.Sum != a.Sum {
			changed = append(changed, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			deleted = append(deleted, p)
		}
	}
	slices.Sort(changed)
	slices.Sort(deleted)
	return changed, deleted
}
