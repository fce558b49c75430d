package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// App is a repository with a ferry.yaml.
type App struct {
	ID        int64
	Name      string
	Repo      string // local path or URL
	CreatedAt time.Time
}

const appCols = `id, name, repo, created_at`

func scanApp(sc interface{ Scan(...any) error }) (App, error) {
	var a App
	err := sc.Scan(&a.ID, &a.Name, &a.Repo, timeCol{&a.CreatedAt})
	return a, err
}

// PutApp creates the app named a.Name, or updates its repo if it exists.
func (o ops) PutApp(ctx context.Context, a App) (App, error) {
	if a.Name == "" {
		return App{}, invalid("app: empty name")
	}
	var out App
	err := o.write(ctx, func(t *Tx) error {
		row := t.q.QueryRowContext(ctx, `INSERT INTO apps (name, repo, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET repo = excluded.repo
			RETURNING `+appCols, a.Name, a.Repo, tval(now()))
		var err error
		out, err = scanApp(row)
		return wrap("put app "+a.Name, err)
	})
	return out, err
}

// GetApp returns the app with this name.
func (o ops) GetApp(ctx context.Context, name string) (App, error) {
	a, err := scanApp(o.q.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return App{}, notFound("app %q", name)
	}
	return a, wrap("get app "+name, err)
}

// ListApps returns every app, by name.
func (o ops) ListApps(ctx context.Context) ([]App, error) {
	return list(ctx, o.q, "list apps", scanApp, `SELECT `+appCols+` FROM apps ORDER BY name`)
}
