package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PreviewState is where a preview environment is in its life.
type PreviewState string

// Preview states.
const (
	PreviewCreating   PreviewState = "creating"
	PreviewReady      PreviewState = "ready"
	PreviewFailed     PreviewState = "failed"
	PreviewDestroying PreviewState = "destroying"
)

// Valid reports whether s is a known state.
func (s PreviewState) Valid() bool {
	switch s {
	case PreviewCreating, PreviewReady, PreviewFailed, PreviewDestroying:
		return true
	}
	return false
}

// Preview is a pull request's (or a branch's) own live environment. Its
// identity is (Repo, PR), or (Repo, Branch) when PR is 0.
type Preview struct {
	ID         int64
	App        string
	Repo       string
	PR         int // 0 for a branch without a pull request
	Branch     string
	Slug       string
	Env        string // environment name, e.g. "pr-42"
	Host       string
	State      PreviewState
	HeadSHA    string
	URL        string
	LastPushAt time.Time
	ExpiresAt  time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PreviewKey identifies a preview: by pull request when PR is set,
// otherwise by branch.
type PreviewKey struct {
	Repo   string
	PR     int
	Branch string
}

// PreviewFilter selects previews; zero fields do not filter.
type PreviewFilter struct {
	App           string
	State         PreviewState
	ExpiredBefore time.Time // only previews whose expiry is set and earlier
}

const previewCols = `id, app, repo, pr, branch, slug, env, host, state, head_sha, url, last_push_at, expires_at, created_at, updated_at`

func scanPreview(sc interface{ Scan(...any) error }) (Preview, error) {
	var p Preview
	err := sc.Scan(&p.ID, &p.App, &p.Repo, intCol[int]{&p.PR}, &p.Branch, &p.Slug, &p.Env, &p.Host, &p.State, &p.HeadSHA,
		&p.URL, timeCol{&p.LastPushAt}, timeCol{&p.ExpiresAt}, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	return p, err
}

func checkPreview(p Preview) error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"repo", p.Repo}, {"slug", p.Slug}, {"env", p.Env}, {"host", p.Host}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return invalid("preview: empty %s", strings.Join(missing, ", "))
	}
	if p.PR < 0 {
		return invalid("preview: pr %d is negative", p.PR)
	}
	if p.PR == 0 && p.Branch == "" {
		return invalid("preview of %s: needs a pr number or a branch", p.Repo)
	}
	if !p.State.Valid() {
		return invalid("preview %s: unknown state %q", p.Slug, p.State)
	}
	return nil
}

// CreatePreview records a new preview (state creating unless given). A
// second preview with the same identity, host or environment is ErrConflict.
func (o ops) CreatePreview(ctx context.Context, p Preview) (Preview, error) {
	if p.State == "" {
		p.State = PreviewCreating
	}
	if err := checkPreview(p); err != nil {
		return Preview{}, err
	}
	p.CreatedAt = now()
	p.UpdatedAt = p.CreatedAt
	err := o.write(ctx, func(t *Tx) error {
		err := t.q.QueryRowContext(ctx, `INSERT INTO previews (app, repo, pr, branch, slug, env, host, state, head_sha, url,
			last_push_at, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.App, p.Repo, ival(p.PR), p.Branch, p.Slug, p.Env, p.Host, p.State, p.HeadSHA, p.URL, tval(p.LastPushAt),
			tval(p.ExpiresAt), tval(p.CreatedAt), tval(p.UpdatedAt)).Scan(&p.ID)
		return wrap(fmt.Sprintf("create preview %s", p.Slug), err)
	})
	if err != nil {
		return Preview{}, err
	}
	return p, nil
}

// GetPreview returns the preview with this id.
func (o ops) GetPreview(ctx context.Context, id int64) (Preview, error) {
	p, err := scanPreview(o.q.QueryRowContext(ctx, `SELECT `+previewCols+` FROM previews WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Preview{}, notFound("preview %d", id)
	}
	return p, wrap("get preview", err)
}

// FindPreview returns the preview with this identity.
func (o ops) FindPreview(ctx context.Context, k PreviewKey) (Preview, error) {
	var row *sql.Row
	if k.PR != 0 {
		row = o.q.QueryRowContext(ctx, `SELECT `+previewCols+` FROM previews WHERE repo = ? AND pr = ?`, k.Repo, k.PR)
	} else {
		row = o.q.QueryRowContext(ctx, `SELECT `+previewCols+` FROM previews WHERE repo = ? AND branch = ? AND pr IS NULL`, k.Repo, k.Branch)
	}
	p, err := scanPreview(row)
	if errors.Is(err, sql.ErrNoRows) {
		if k.PR != 0 {
			return Preview{}, notFound("preview of %s pr %d", k.Repo, k.PR)
		}
		return Preview{}, notFound("preview of %s branch %q", k.Repo, k.Branch)
	}
	return p, wrap("find preview", err)
}

// ListPreviews returns the previews matching f, oldest first.
func (o ops) ListPreviews(ctx context.Context, f PreviewFilter) ([]Preview, error) {
	var where []string
	var args []any
	if f.App != "" {
		where, args = append(where, "app = ?"), append(args, f.App)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if !f.ExpiredBefore.IsZero() {
		where, args = append(where, "expires_at IS NOT NULL AND expires_at < ?"), append(args, tval(f.ExpiredBefore))
	}
	q := `SELECT ` + previewCols + ` FROM previews`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, o.q, "list previews", scanPreview, q+" ORDER BY id", args...)
}

// UpdatePreview writes the mutable fields of p: branch, slug, env, host,
// state, head sha, url, last push and expiry. Its identity (repo, pr) stays.
func (o ops) UpdatePreview(ctx context.Context, p Preview) (Preview, error) {
	var out Preview
	err := o.write(ctx, func(t *Tx) error {
		cur, err := t.GetPreview(ctx, p.ID)
		if err != nil {
			return err
		}
		p.App, p.Repo, p.PR, p.CreatedAt = cur.App, cur.Repo, cur.PR, cur.CreatedAt
		if err := checkPreview(p); err != nil {
			return err
		}
		p.UpdatedAt = now()
		if _, err := t.q.ExecContext(ctx, `UPDATE previews SET branch = ?, slug = ?, env = ?, host = ?, state = ?,
			head_sha = ?, url = ?, last_push_at = ?, expires_at = ?, updated_at = ? WHERE id = ?`,
			p.Branch, p.Slug, p.Env, p.Host, p.State, p.HeadSHA, p.URL, tval(p.LastPushAt), tval(p.ExpiresAt),
			tval(p.UpdatedAt), p.ID); err != nil {
			return wrap(fmt.Sprintf("update preview %d", p.ID), err)
		}
		out = p
		return nil
	})
	return out, err
}

// DeletePreview forgets a destroyed preview. Its events stay.
func (o ops) DeletePreview(ctx context.Context, id int64) error {
	return o.write(ctx, func(t *Tx) error {
		return affected(t.q.ExecContext(ctx, `DELETE FROM previews WHERE id = ?`, id))("delete preview", "preview %d", id)
	})
}
