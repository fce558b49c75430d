package artifact

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ForceRemove removes the tree at p like os.RemoveAll, first making its
// directories writable: release directories and build checkouts may be
// read-only, which would stop a non-root owner from deleting their contents.
// It does not follow symlinks.
func ForceRemove(p string) error {
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return os.Chmod(q, 0o700)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(p)
}
