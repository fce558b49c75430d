package build

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestToPrune(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	layers := []cachedLayer{
		{key: "old-big", bytes: 600, lastUsed: ago(10 * day)},
		{key: "ancient-small", bytes: 10, lastUsed: ago(40 * day)},
		{key: "yesterday", bytes: 300, lastUsed: ago(day)},
		{key: "recent", bytes: 500, lastUsed: ago(10 * time.Minute)},
	}
	for _, c := range []struct {
		name string
		p    CachePolicy
		want []string
	}{
		{"under the size: only what is past the age", CachePolicy{MaxBytes: 10_000}, []string{"ancient-small"}},
		{"over the size: least recently used first, until it fits", CachePolicy{MaxBytes: 900}, []string{"ancient-small", "old-big"}},
		{"the grace outranks the size", CachePolicy{MaxBytes: 100}, []string{"ancient-small", "old-big", "yesterday"}},
		{"a longer grace keeps yesterday's", CachePolicy{MaxBytes: 100, Grace: 2 * day}, []string{"ancient-small", "old-big"}},
		{"no age limit, no size bound", CachePolicy{MaxBytes: -1, MaxAge: -1}, nil},
		{"a short age", CachePolicy{MaxBytes: -1, MaxAge: 2 * day}, []string{"ancient-small", "old-big"}},
	} {
		if got := toPrune(layers, c.p, now); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// layerKeys lists the cached layers of f's home.
func (f *fixture) layerKeys() []string {
	f.t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.home.BuildCacheDir(), "steps"))
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Name())
	}
	return keys
}

// age sets when the layer of key was last used.
func (f *fixture) age(key string, d time.Duration) {
	f.t.Helper()
	at := time.Now().Add(-d)
	if err := os.Chtimes(filepath.Join(f.home.BuildCacheDir(), "steps", key, layerMeta), at, at); err != nil {
		f.t.Fatal(err)
	}
}

func TestPruneCacheTakesTheLeastRecentlyUsedAndSparesWhatABuildHolds(t *testing.T) {
	f := newFixture(t, appFiles)
	ctx := context.Background()
	steps := layered[:2]
	first := f.build(f.opts("HEAD", steps))
	f.write(map[string]string{"src/main.txt": "main-v2\n"})
	second := f.build(f.opts(f.commit("v2"), steps))
	// deps is shared; compile has a layer per commit.
	deps, compile1, compile2 := first.Steps[0].Key, first.Steps[1].Key, second.Steps[1].Key
	if got := f.layerKeys(); len(got) != 3 {
		t.Fatalf("layers %v, want 3", got)
	}
	f.age(deps, 3*time.Hour)
	f.age(compile1, 5*time.Hour)
	f.age(compile2, 4*time.Hour)

	// A third build, of the first commit, hits deps and compile1: a hit
	// counts as a use.
	f.build(f.opts(first.Commit, steps))
	var all int64
	for _, k := range f.layerKeys() {
		all += dirBytes(filepath.Join(f.home.BuildCacheDir(), "steps", k))
	}
	// Room for all but one layer: the least recently used goes, compile2.
	res, err := PruneCache(ctx, f.home, CachePolicy{MaxBytes: all - 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.layerKeys(); res.Removed != 1 || slices.Contains(got, compile2) || len(got) != 2 {
		t.Fatalf("prune: %+v, layers left %v; want %s gone", res, got, compile2)
	}

	// A layer a build holds is not removed, even when it is chosen; one
	// used within the grace is not chosen.
	f.age(compile1, 2*time.Hour)
	unlock, err := lockFile(ctx, filepath.Join(f.home.BuildCacheDir(), "locks", compile1+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	res, err = PruneCache(ctx, f.home, CachePolicy{MaxBytes: 1, Grace: time.Minute})
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := f.layerKeys(); res.SkippedInUse != 1 || res.Removed != 0 || len(got) != 2 || res.Kept != 2 {
		t.Fatalf("prune with compile1 held and deps just used: %+v, layers left %v; want both kept", res, got)
	}
	// Released, it goes; the next build of its commit runs the step again
	// and caches it anew.
	if res, err = PruneCache(ctx, f.home, CachePolicy{MaxBytes: 1, Grace: time.Minute}); err != nil || res.Removed != 1 {
		t.Fatalf("prune with compile1 free: %+v, %v", res, err)
	}
	f.ran()
	again := f.build(f.opts(first.Commit, steps))
	if got := f.ran(); !slices.Equal(got, []string{"compile"}) || again.Digest != first.Digest {
		t.Fatalf("build after the prune ran %v (digest %s, first %s)", got, again.Digest, first.Digest)
	}
	if !slices.Contains(f.layerKeys(), compile1) {
		t.Fatalf("compile1 not cached again: %v", f.layerKeys())
	}
}

func TestPruneCacheRemovesCheckoutsKilledBuildsLeft(t *testing.T) {
	f := newFixture(t, appFiles)
	work := filepath.Join(f.home.BuildCacheDir(), "work")
	for _, d := range []string{"build-killed/src", "build-running/src"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-8 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(work, "build-killed"), old, old); err != nil {
		t.Fatal(err)
	}
	res, err := PruneCache(context.Background(), f.home, CachePolicy{})
	if err != nil || res.Checkouts != 1 {
		t.Fatalf("prune: %+v, %v; want one checkout removed", res, err)
	}
	left, _ := os.ReadDir(work)
	if len(left) != 1 || left[0].Name() != "build-running" {
		t.Fatalf("checkouts left: %v, want build-running only", left)
	}
}
