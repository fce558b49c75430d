package store

import (
	"context"
	"strings"
	"time"
)

// Artifact is a content-addressed build output.
type Artifact struct {
	Digest     string // "sha256:" + 64 lowercase hex digits
	Size       int64
	Path       string
	App        string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// checkDigest accepts only sha256 digests in canonical form.
func checkDigest(d string) error {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return invalid("artifact digest %q: want sha256: and 64 lowercase hex digits", d)
	}
	return nil
}

const artifactCols = `digest, size, path, app, created_at, last_used_at`

func scanArtifact(sc interface{ Scan(...any) error }) (Artifact, error) {
	var a Artifact
	err := sc.Scan(&a.Digest, &a.Size, &a.Path, &a.App, timeCol{&a.CreatedAt}, timeCol{&a.LastUsedAt})
	return a, err
}

// PutArtifact records an artifact; recording one that exists again keeps its
// creation time and marks it used now.
func (o ops) PutArtifact(ctx context.Context, a Artifact) (Artifact, error) {
	if err := checkDigest(a.Digest); err != nil {
		return Artifact{}, err
	}
	if a.Size < 0 {
		return Artifact{}, invalid("artifact %s: negative size %d", a.Digest, a.Size)
	}
	var out Artifact
	err := o.write(ctx, func(t *Tx) error {
		ts := tval(now())
		var err error
		out, err = scanArtifact(t.q.QueryRowContext(ctx, `INSERT INTO artifacts (digest, size, path, app, created_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (digest) DO UPDATE SET size = excluded.size, path = excluded.path, last_used_at = excluded.last_used_at
			RETURNING `+artifactCols, a.Digest, a.Size, a.Path, a.App, ts, ts))
		return wrap("put artifact "+a.Digest, err)
	})
	return out, err
}

// ListArtifacts returns every artifact, least recently used first.
func (o ops) ListArtifacts(ctx context.Context) ([]Artifact, error) {
	return list(ctx, o.q, "list artifacts", scanArtifact, `SELECT `+artifactCols+` FROM artifacts ORDER BY last_used_at, digest`)
}
