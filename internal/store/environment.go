package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// EnvKind tells long-lived environments from pull-request previews.
type EnvKind string

// Environment kinds.
const (
	EnvStandard EnvKind = "standard"
	EnvPreview  EnvKind = "preview"
)

// Environment is one deployment target of an app (staging, production, pr-42).
type Environment struct {
	ID        int64
	AppID     int64
	App       string
	Name      string
	Kind      EnvKind
	CreatedAt time.Time
}

const envSelect = `SELECT e.id, e.app_id, a.name, e.name, e.kind, e.created_at
	FROM environments e JOIN apps a ON a.id = e.app_id`

func scanEnv(sc interface{ Scan(...any) error }) (Environment, error) {
	var e Environment
	err := sc.Scan(&e.ID, &e.AppID, &e.App, &e.Name, &e.Kind, timeCol{&e.CreatedAt})
	return e, err
}

// EnsureEnvironment returns the app's environment named name, creating it
// with kind if it does not exist. The app must exist (ErrNotFound). An
// existing environment of another kind is a conflict.
func (o ops) EnsureEnvironment(ctx context.Context, app, name string, kind EnvKind) (Environment, error) {
	if name == "" {
		return Environment{}, invalid("environment: empty name")
	}
	if kind != EnvStandard && kind != EnvPreview {
		return Environment{}, invalid("environment %q: kind %q (want standard or preview)", name, kind)
	}
	var out Environment
	err := o.write(ctx, func(t *Tx) error {
		a, err := t.GetApp(ctx, app)
		if err != nil {
			return err
		}
		if _, err := t.q.ExecContext(ctx, `INSERT INTO environments (app_id, name, kind, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (app_id, name) DO NOTHING`, a.ID, name, kind, tval(now())); err != nil {
			return wrap("ensure environment "+app+"/"+name, err)
		}
		out, err = t.GetEnvironment(ctx, app, name)
		if err == nil && out.Kind != kind {
			return wrap("ensure environment", errConflictf("environment %s/%s is a %s environment, not a %s one", app, name, out.Kind, kind))
		}
		return err
	})
	return out, err
}

// GetEnvironment returns the app's environment named name.
func (o ops) GetEnvironment(ctx context.Context, app, name string) (Environment, error) {
	e, err := scanEnv(o.q.QueryRowContext(ctx, envSelect+` WHERE a.name = ? AND e.name = ?`, app, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Environment{}, notFound("environment %s/%s", app, name)
	}
	return e, wrap("get environment", err)
}

// ListEnvironments returns the app's environments, by name.
func (o ops) ListEnvironments(ctx context.Context, app string) ([]Environment, error) {
	return list(ctx, o.q, "list environments", scanEnv, envSelect+` WHERE a.name = ? ORDER BY e.name`, app)
}

// DeleteEnvironment removes an environment with its services, revisions,
// tasks and deployments (a destroyed preview). Events stay.
func (o ops) DeleteEnvironment(ctx context.Context, app, name string) error {
	return o.write(ctx, func(t *Tx) error {
		t.tasksReset = true // the cascade removes the services' tasks
		return affected(t.q.ExecContext(ctx, `DELETE FROM environments
			WHERE name = ? AND app_id = (SELECT id FROM apps WHERE name = ?)`, name, app))("delete environment", "environment %s/%s", app, name)
	})
}
