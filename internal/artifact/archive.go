package artifact

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// epoch is the mtime of every entry: archives must not depend on when the
// files were written, only on what they contain.
var epoch = time.Unix(0, 0)

// Pack writes a deterministic gzip-compressed tar of the tree at root to w:
// entries in lexical order with slash-separated relative names, mtimes zeroed,
// owner 0:0 with no names, permission bits kept (so the executable bit
// survives), symlinks stored as links. With paths nil everything under root is
// packed; otherwise exactly those relative paths, in sorted order (a directory
// path adds the directory entry, not its contents). Only regular files,
// directories and symlinks that stay inside root are accepted.
func Pack(ctx context.Context, w io.Writer, root string, paths []string) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	add := func(rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return packEntry(tw, root, rel)
	}
	if paths == nil {
		err = filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
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
			return add(filepath.ToSlash(rel))
		})
	} else {
		sorted := slices.Clone(paths)
		slices.Sort(sorted)
		for _, rel := range slices.Compact(sorted) {
			if err = add(rel); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("pack %s: %w", root, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", root, err)
	}
	return zw.Close()
}

func packEntry(tw *tar.Writer, root, rel string) error {
	full := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: rel, Mode: int64(fi.Mode().Perm()), ModTime: epoch}
	switch {
	case fi.Mode().IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	case fi.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		if !linkInside(rel, target) {
			return fmt.Errorf("symlink %s -> %s points outside the directory", rel, target)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	default:
		return fmt.Errorf("%s: unsupported file type %s", rel, fi.Mode().Type())
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

// Extract unpacks an archive written by Pack into the existing directory
// dest, replacing entries already there. It refuses, before writing the
// entry, any name that is absolute or has a ".." element, any symlink whose
// target leaves dest, and any entry type Pack never writes; all writes go
// through an os.Root so that even a chain of links cannot lead outside dest.
// Modes are applied exactly (not masked by the umask).
func Extract(ctx context.Context, r io.Reader, dest string) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("extract into %s: not a gzip archive: %w", dest, err)
	}
	tr := tar.NewReader(zr)
	// Directory modes are applied last so that a read-only directory does
	// not stop its own contents from being written.
	dirModes := map[string]fs.FileMode{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("extract into %s: %w", dest, err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return fmt.Errorf("extract into %s: %w", dest, err)
		}
		if name == "." {
			continue
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		if err := extractEntry(root, tr, hdr, name, mode, dirModes); err != nil {
			return fmt.Errorf("extract into %s: entry %q: %w", dest, hdr.Name, err)
		}
	}
	// Deepest first, so a parent without search permission is locked last.
	names := slices.Sorted(maps.Keys(dirModes))
	slices.Reverse(names)
	for _, name := range names {
		if err := root.Chmod(name, dirModes[name]); err != nil {
			return fmt.Errorf("extract into %s: %w", dest, err)
		}
	}
	return nil
}

func extractEntry(root *os.Root, tr *tar.Reader, hdr *tar.Header, name string, mode fs.FileMode, dirModes map[string]fs.FileMode) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := root.Lstat(name); err == nil && !fi.IsDir() {
			if err := root.Remove(name); err != nil {
				return err
			}
		}
		if err := root.MkdirAll(name, 0o700); err != nil {
			return err
		}
		dirModes[name] = mode
		return nil
	case tar.TypeReg:
		if err := root.RemoveAll(name); err != nil {
			return err
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeSymlink:
		if !linkInside(name, hdr.Linkname) {
			return fmt.Errorf("symlink to %q points outside the directory", hdr.Linkname)
		}
		if err := root.RemoveAll(name); err != nil {
			return err
		}
		return root.Symlink(hdr.Linkname, name)
	default:
		return fmt.Errorf("unsupported entry type %q", string(hdr.Typeflag))
	}
}

// entryName validates an archive entry name and returns it cleaned.
func entryName(n string) (string, error) {
	trimmed := strings.TrimSuffix(n, "/")
	if trimmed == "" || path.IsAbs(trimmed) || strings.Contains(trimmed, `\`) {
		return "", fmt.Errorf("entry %q: absolute or empty name", n)
	}
	if slices.Contains(strings.Split(trimmed, "/"), "..") {
		return "", fmt.Errorf("entry %q: escapes the directory", n)
	}
	return path.Clean(trimmed), nil
}

// linkInside reports whether a symlink at name (relative, slash-separated)
// pointing to target stays within the directory, judged lexically.
func linkInside(name, target string) bool {
	if target == "" || path.IsAbs(target) {
		return false
	}
	j := path.Join(path.Dir(name), target)
	return j != ".." && !strings.HasPrefix(j, "../")
}
