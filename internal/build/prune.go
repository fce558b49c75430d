package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/home"
)

// Cached layers are kept by use, as BuildKit's cache is: every build of a
// new commit stores a layer per changed step, and without a bound the cache
// fills the disk of a machine that builds every push of every pull request.
// A layer's last use is its meta file's modification time, set when it is
// stored and again at every cache hit.

// CachePolicy bounds the layer cache.
type CachePolicy struct {
	// MaxBytes bounds the layers' total size: the least recently used go
	// first. 0 means DefaultCacheBytes; a negative value means no bound.
	MaxBytes int64
	// MaxAge: a layer unused for longer goes, whatever the size. 0 means
	// DefaultCacheAge; a negative value means no limit.
	MaxAge time.Duration
	// Grace: a layer used more recently is never removed (a build may be
	// about to use it again). 0 means DefaultCacheGrace.
	Grace time.Duration
}

// The default policy.
const (
	DefaultCacheBytes = 4 << 30
	DefaultCacheAge   = 30 * 24 * time.Hour
	DefaultCacheGrace = time.Hour
)

func (p CachePolicy) withDefaults() CachePolicy {
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultCacheBytes
	}
	if p.MaxAge == 0 {
		p.MaxAge = DefaultCacheAge
	}
	if p.Grace <= 0 {
		p.Grace = DefaultCacheGrace
	}
	return p
}

// cachedLayer is what pruning knows of one layer.
type cachedLayer struct {
	key      string
	bytes    int64
	lastUsed time.Time
}

// toPrune decides which layers go under p at now: every layer unused for
// longer than MaxAge, then the least recently used until the rest fit in
// MaxBytes, never one used within Grace. Pure.
func toPrune(ls []cachedLayer, p CachePolicy, now time.Time) []string {
	p = p.withDefaults()
	byUse := slices.Clone(ls)
	slices.SortFunc(byUse, func(a, b cachedLayer) int {
		if c := a.lastUsed.Compare(b.lastUsed); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	var total int64
	for _, l := range byUse {
		total += l.bytes
	}
	var out []string
	for _, l := range byUse {
		idle := now.Sub(l.lastUsed)
		if idle < p.Grace {
			break // the rest were used more recently still
		}
		if (p.MaxAge > 0 && idle > p.MaxAge) || (p.MaxBytes > 0 && total > p.MaxBytes) {
			out = append(out, l.key)
			total -= l.bytes
		}
	}
	return out
}

// CachePruned is what PruneCache did.
type CachePruned struct {
	Removed      int   // layers removed
	Freed        int64 // their bytes
	Kept         int   // layers left
	KeptBytes    int64 // their bytes
	SkippedInUse int   // layers chosen but held by a build, left for next time
	Checkouts    int   // checkouts removed that killed builds left behind
}

// PruneCache removes cached step layers of h as p says (toPrune). A layer
// a build holds (its step lock is taken) is left for the next prune.
func PruneCache(ctx context.Context, h home.Dir, p CachePolicy) (CachePruned, error) {
	cache := h.BuildCacheDir()
	l := layers{dir: filepath.Join(cache, "steps")}
	locks := filepath.Join(cache, "locks")
	entries, err := os.ReadDir(l.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return CachePruned{}, fmt.Errorf("build cache: %w", err)
	}
	var all []cachedLayer
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") { // .layer-*: a save under way
			continue
		}
		fi, err := os.Stat(filepath.Join(l.path(e.Name()), layerMeta))
		if err != nil {
			continue // not a complete layer
		}
		all = append(all, cachedLayer{key: e.Name(), bytes: dirBytes(l.path(e.Name())), lastUsed: fi.ModTime()})
	}
	var res CachePruned
	gone := map[string]bool{}
	chosen := toPrune(all, p, time.Now())
	if len(chosen) > 0 {
		if err := os.MkdirAll(locks, 0o700); err != nil {
			return res, fmt.Errorf("build cache: %w", err)
		}
	}
	for _, key := range chosen {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		removed, err := removeUnheld(l, locks, key)
		if err != nil {
			return res, fmt.Errorf("build cache: %w", err)
		}
		if !removed {
			res.SkippedInUse++
			continue
		}
		gone[key] = true
	}
	for _, cl := range all {
		if gone[cl.key] {
			res.Removed++
			res.Freed += cl.bytes
		} else {
			res.Kept++
			res.KeptBytes += cl.bytes
		}
	}
	res.Checkouts, err = removeStaleCheckouts(filepath.Join(cache, "work"), time.Now())
	return res, err
}

// staleCheckout is how old a build's checkout must be before pruning takes
// it: a build removes its own when it ends, so one this old was left by a
// process killed mid-build.
const staleCheckout = 7 * 24 * time.Hour

// removeStaleCheckouts removes the checkouts under dir older than
// staleCheckout and returns how many it removed.
func removeStaleCheckouts(dir string, now time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("build cache: %w", err)
	}
	n := 0
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) < staleCheckout {
			continue
		}
		if err := artifact.ForceRemove(filepath.Join(dir, e.Name())); err != nil {
			return n, fmt.Errorf("build cache: %w", err)
		}
		n++
	}
	return n, nil
}

// PruneCacheEvery prunes h's layer cache as p says now and then every
// interval until ctx ends, logging what it removed. The server runs it:
// builds happen in the server (previews) and in CLIs on the same home.
func PruneCacheEvery(ctx context.Context, h home.Dir, p CachePolicy, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := PruneCache(ctx, h, p)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("pruning the build cache", "err", err)
		case res.Removed > 0 || res.SkippedInUse > 0 || res.Checkouts > 0:
			log.Info("build cache pruned", "removed_layers", res.Removed, "freed_bytes", res.Freed,
				"kept_layers", res.Kept, "kept_bytes", res.KeptBytes, "in_use", res.SkippedInUse,
				"stale_checkouts", res.Checkouts)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// removeUnheld removes the layer of key unless a build holds its step lock.
func removeUnheld(l layers, locks, key string) (bool, error) {
	lockPath := filepath.Join(locks, key+".lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if locked, err := tryLock(f); !locked {
		return false, err
	}
	if err := l.discard(key); err != nil {
		return false, err
	}
	// The lock file goes too, or they would pile up one per key ever
	// built. A build that opened it before it went and locks it after
	// runs the step beside another at worst; a layer appears whole by
	// rename either way.
	os.Remove(lockPath)
	return true, nil
}

// touch records a use of the layer of key (see above).
func (l layers) touch(key string) {
	now := time.Now()
	os.Chtimes(filepath.Join(l.path(key), layerMeta), now, now)
}

// dirBytes is the size of the regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
