package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferrycd/ferry/internal/artifact"
)

// A layer is the stored effect of one step: a directory named for the step's
// key holding layerArchive (the paths the step created or changed, packed
// with artifact.Pack) and layerMeta (the paths it deleted). The directory
// appears by an atomic rename, so one that exists is complete.
const (
	layerArchive = "layer.tar.gz"
	layerMeta    = "layer.json"
)

type layerInfo struct {
	Step    string   `json:"step"`
	Deleted []string `json:"deleted"`
	// Sum is the sha256 of the layer archive, checked before it is applied.
	Sum string `json:"sha256"`
}

type layers struct{ dir string }

func (l layers) path(key string) string { return filepath.Join(l.dir, key) }

func (l layers) has(key string) bool {
	_, err := os.Stat(filepath.Join(l.path(key), layerMeta))
	return err == nil
}

// save stores the layer of key: changed paths taken from checkout, deleted
// paths listed.
func (l layers) save(ctx context.Context, key, step, checkout string, changed, deleted []string) error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(l.dir, ".layer-")
	if err != nil {
		return err
	}
	defer artifact.ForceRemove(tmp) // a no-op once renamed
	h := sha256.New()
	if err := writeSynced(filepath.Join(tmp, layerArchive), func(f *os.File) error {
		return artifact.Pack(ctx, io.MultiWriter(f, h), checkout, nonNil(changed))
	}); err != nil {
		return err
	}
	meta, err := json.Marshal(layerInfo{Step: step, Deleted: nonNil(deleted), Sum: hex.EncodeToString(h.Sum(nil))})
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(tmp, layerMeta), func(f *os.File) error {
		_, err := f.Write(meta)
		return err
	}); err != nil {
		return err
	}
	err = os.Rename(tmp, l.path(key))
	if err != nil && l.has(key) {
		return nil // stored meanwhile by a build that did not share our lock
	}
	return err
}

// load reads the layer of key and checks its archive against the recorded
// hash, so that a damaged layer is found before it touches a checkout.
func (l layers) load(key string) (layerInfo, error) {
	dir := l.path(key)
	var info layerInfo
	raw, err := os.ReadFile(filepath.Join(dir, layerMeta))
	if err != nil {
		return info, fmt.Errorf("cached layer %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("cached layer %s: %s: %w", dir, layerMeta, err)
	}
	sum, err := hashFile(filepath.Join(dir, layerArchive))
	if err != nil {
		return info, fmt.Errorf("cached layer %s: %w", dir, err)
	}
	if sum != info.Sum {
		return info, fmt.Errorf("cached layer %s: corrupted: %s hashes to %s, recorded %s", dir, layerArchive, sum, info.Sum)
	}
	return info, nil
}

// discard removes the layer of key.
func (l layers) discard(key string) error { return artifact.ForceRemove(l.path(key)) }

// apply replays a loaded layer of key onto checkout.
func (l layers) apply(ctx context.Context, key string, info layerInfo, checkout string) error {
	dir := l.path(key)
	root, err := os.OpenRoot(checkout)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, p := range info.Deleted {
		if err := root.RemoveAll(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cached layer %s: deleting %s: %w", dir, p, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, layerArchive))
	if err != nil {
		return fmt.Errorf("cached layer %s: %w", dir, err)
	}
	defer f.Close()
	if err := artifact.Extract(ctx, f, checkout); err != nil {
		return fmt.Errorf("cached layer %s: %w", dir, err)
	}
	return nil
}

// nonNil keeps "no paths" distinct from Pack's nil, which means all paths.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeSynced(p string, fill func(*os.File) error) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
