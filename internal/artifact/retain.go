package artifact

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Retain removes every stored archive and release directory whose digest is
// not in keep, unless the archive was put less than Grace ago, and returns
// the digests it removed, sorted. A malformed digest in keep is an error and
// nothing is removed. Callers must not Unpack a digest outside keep while
// Retain runs (the control plane serialises them). Temporary files of Puts
// and Unpacks in progress are left alone.
func (s Store) Retain(ctx context.Context, keep []string) ([]string, error) {
	adir, rdir, err := s.dirs()
	if err != nil {
		return nil, err
	}
	grace := s.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	kept := map[string]bool{}
	for _, d := range keep {
		h, err := ParseDigest(d)
		if err != nil {
			return nil, fmt.Errorf("retain: %w", err)
		}
		kept[h] = true
	}
	removed := map[string]bool{}
	sweep := func(dir string, hexOf func(name string) (string, bool)) error {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			h, ok := hexOf(e.Name())
			if !ok || kept[h] {
				continue
			}
			if dir == adir && grace > 0 {
				// Just put, not yet deployed: kept, with its release directory.
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) < grace {
					kept[h] = true
					continue
				}
			}
			if err := ForceRemove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			removed[h] = true
		}
		return nil
	}
	err = sweep(adir, func(name string) (string, bool) {
		h, ok := strings.CutSuffix(name, archiveExt)
		return h, ok && isHex(h)
	})
	if err == nil {
		err = sweep(rdir, func(name string) (string, bool) { return name, isHex(name) })
	}
	out := make([]string, 0, len(removed))
	for h := range removed {
		out = append(out, digestPrefix+h)
	}
	slices.Sort(out)
	if err != nil {
		return out, fmt.Errorf("retain: %w", err)
	}
	return out, nil
}

func isHex(h string) bool {
	_, err := ParseDigest(digestPrefix + h)
	return err == nil
}
