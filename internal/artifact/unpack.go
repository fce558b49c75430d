package artifact

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Unpack verifies the archive of digest and returns its release directory,
// ReleasesDir/<hex>, unpacking it first if needed. The directory appears by
// an atomic rename of a fully unpacked temporary directory, so concurrent
// calls for the same digest are safe and an existing directory is complete.
// It is read-only: directories 0555, files 0555 if any executable bit was set
// in the archive, 0444 otherwise.
func (s Store) Unpack(ctx context.Context, digest string) (string, error) {
	if err := s.Verify(digest); err != nil {
		return "", err
	}
	_, rdir, err := s.dirs()
	if err != nil {
		return "", err
	}
	h, _ := ParseDigest(digest)
	final := filepath.Join(rdir, h)
	if fi, err := os.Stat(final); err == nil && fi.IsDir() {
		return final, nil
	}
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return "", fmt.Errorf("unpack %s: %w", digest, err)
	}
	tmp, err := os.MkdirTemp(rdir, ".unpack-"+h[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", digest, err)
	}
	if err := s.unpackInto(ctx, digest, tmp); err != nil {
		ForceRemove(tmp)
		return "", fmt.Errorf("unpack %s: %w", digest, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		ForceRemove(tmp)
		// Another unpack of the same digest won the race: its result is
		// identical, so use it.
		if fi, serr := os.Stat(final); serr == nil && fi.IsDir() {
			return final, nil
		}
		return "", fmt.Errorf("unpack %s: %w", digest, err)
	}
	if err := syncDir(rdir); err != nil {
		return "", fmt.Errorf("unpack %s: %w", digest, err)
	}
	return final, nil
}

func (s Store) unpackInto(ctx context.Context, digest, dir string) error {
	p, _ := s.Path(digest)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := Extract(ctx, f, dir); err != nil {
		return err
	}
	return makeReadOnly(dir)
}

// makeReadOnly sets the release modes bottom-up (a directory is locked only
// after its contents), leaving symlinks alone.
func makeReadOnly(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
			return nil
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o444)
			if fi.Mode()&0o111 != 0 {
				mode = 0o555
			}
			return os.Chmod(p, mode)
		case d.Type()&fs.ModeSymlink != 0:
			return nil
		default:
			return errors.New(p + ": unexpected file type in release")
		}
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}
