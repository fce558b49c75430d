package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// BuildCacheEntry is the cached output of one build step, keyed by the hash
// of its declared inputs.
type BuildCacheEntry struct {
	Key        string
	App        string
	Step       string
	Path       string // artifact or directory holding the step's output
	CreatedAt  time.Time
	LastUsedAt time.Time
}

const buildCacheCols = `key, app, step, path, created_at, last_used_at`

func scanBuildCache(sc interface{ Scan(...any) error }) (BuildCacheEntry, error) {
	var e BuildCacheEntry
	err := sc.Scan(&e.Key, &e.App, &e.Step, &e.Path, timeCol{&e.CreatedAt}, timeCol{&e.LastUsedAt})
	return e, err
}

// PutBuildCache records a cache entry, replacing the path of an existing key.
func (o ops) PutBuildCache(ctx context.Context, e BuildCacheEntry) (BuildCacheEntry, error) {
	if e.Key == "" {
		return BuildCacheEntry{}, invalid("build cache entry of step %q: empty key", e.Step)
	}
	var out BuildCacheEntry
	err := o.write(ctx, func(t *Tx) error {
		ts := tval(now())
		var err error
		out, err = scanBuildCache(t.q.QueryRowContext(ctx, `INSERT INTO build_cache (key, app, step, path, created_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET path = excluded.path, last_used_at = excluded.last_used_at
			RETURNING `+buildCacheCols, e.Key, e.App, e.Step, e.Path, ts, ts))
		return wrap("put build cache "+e.Key, err)
	})
	return out, err
}

// GetBuildCache returns the entry for key.
func (o ops) GetBuildCache(ctx context.Context, key string) (BuildCacheEntry, error) {
	e, err := scanBuildCache(o.q.QueryRowContext(ctx, `SELECT `+buildCacheCols+` FROM build_cache WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return BuildCacheEntry{}, notFound("build cache %s", key)
	}
	return e, wrap("get build cache", err)
}

// TouchBuildCache marks the entry used now.
func (o ops) TouchBuildCache(ctx context.Context, key string) error {
	return o.write(ctx, func(t *Tx) error {
		return affected(t.q.ExecContext(ctx, `UPDATE build_cache SET last_used_at = ? WHERE key = ?`, tval(now()), key))("touch build cache", "build cache %s", key)
	})
}

// ListBuildCache returns every entry, least recently used first.
func (o ops) ListBuildCache(ctx context.Context) ([]BuildCacheEntry, error) {
	return list(ctx, o.q, "list build cache", scanBuildCache, `SELECT `+buildCacheCols+` FROM build_cache ORDER BY last_used_at, key`)
}

// DeleteBuildCache forgets an entry (the caller removes its files).
func (o ops) DeleteBuildCache(ctx context.Context, key string) error {
	return o.write(ctx, func(t *Tx) error {
		return affected(t.q.ExecContext(ctx, `DELETE FROM build_cache WHERE key = ?`, key))("delete build cache", "build cache %s", key)
	})
}
