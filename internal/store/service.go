package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Service is one long-running process type of an app in an environment.
type Service struct {
	ID           int64
	EnvID        int64
	App          string
	Env          string
	Name         string
	DesiredCount int  // from ferry.yaml
	ScaledCount  *int // set by `ferry scale`; kept until the file's count changes
	LiveRevision int  // 0 until a revision went live
	State        string
	Message      string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Count is the number of tasks the service should run.
func (s Service) Count() int {
	if s.ScaledCount != nil {
		return *s.ScaledCount
	}
	return s.DesiredCount
}

// ServiceFilter selects services; zero fields do not filter.
type ServiceFilter struct {
	App string
	Env string
}

const serviceSelect = `SELECT s.id, s.environment_id, a.name, e.name, s.name, s.desired_count, s.scaled_count,
	s.live_revision, s.state, s.message, s.created_at, s.updated_at
	FROM services s JOIN environments e ON e.id = s.environment_id JOIN apps a ON a.id = e.app_id`

func scanService(sc interface{ Scan(...any) error }) (Service, error) {
	var s Service
	err := sc.Scan(&s.ID, &s.EnvID, &s.App, &s.Env, &s.Name, &s.DesiredCount, ptrCol{&s.ScaledCount},
		intCol[int]{&s.LiveRevision}, &s.State, &s.Message, timeCol{&s.CreatedAt}, timeCol{&s.UpdatedAt})
	return s, err
}

// EnsureService returns the service app/env/name, creating it (count 0) if
// it does not exist. The environment must exist (ErrNotFound).
func (o ops) EnsureService(ctx context.Context, app, env, name string) (Service, error) {
	if name == "" {
		return Service{}, invalid("service: empty name")
	}
	var out Service
	err := o.write(ctx, func(t *Tx) error {
		e, err := t.GetEnvironment(ctx, app, env)
		if err != nil {
			return err
		}
		ts := tval(now())
		if _, err := t.q.ExecContext(ctx, `INSERT INTO services (environment_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (environment_id, name) DO NOTHING`, e.ID, name, ts, ts); err != nil {
			return wrap("ensure service "+app+"/"+env+"/"+name, err)
		}
		out, err = t.FindService(ctx, app, env, name)
		return err
	})
	return out, err
}

// GetService returns the service with this id.
func (o ops) GetService(ctx context.Context, id int64) (Service, error) {
	s, err := scanService(o.q.QueryRowContext(ctx, serviceSelect+` WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Service{}, notFound("service %d", id)
	}
	return s, wrap("get service", err)
}

// FindService returns the service app/env/name.
func (o ops) FindService(ctx context.Context, app, env, name string) (Service, error) {
	s, err := scanService(o.q.QueryRowContext(ctx, serviceSelect+` WHERE a.name = ? AND e.name = ? AND s.name = ?`, app, env, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Service{}, notFound("service %s/%s/%s", app, env, name)
	}
	return s, wrap("find service", err)
}

// ListServices returns the services matching f, by app, environment, name.
func (o ops) ListServices(ctx context.Context, f ServiceFilter) ([]Service, error) {
	var where []string
	var args []any
	if f.App != "" {
		where, args = append(where, "a.name = ?"), append(args, f.App)
	}
	if f.Env != "" {
		where, args = append(where, "e.name = ?"), append(args, f.Env)
	}
	q := serviceSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, o.q, "list services", scanService, q+" ORDER BY a.name, e.name, s.name", args...)
}

// nextScale decides the scale override when ferry.yaml sets count: a manual
// scale survives redeploys of the same file count and is dropped as soon as
// the file says something new.
func nextScale(oldDesired int, scaled *int, newDesired int) *int {
	if newDesired != oldDesired {
		return nil
	}
	return scaled
}

// SetDesiredCount records the count ferry.yaml asks for, dropping a manual
// scale if the count changed.
func (o ops) SetDesiredCount(ctx context.Context, id int64, n int) (Service, error) {
	if n < 0 {
		return Service{}, invalid("service %d: desired count %d is negative", id, n)
	}
	return o.updateService(ctx, id, func(_ *Tx, s *Service) error {
		s.ScaledCount = nextScale(s.DesiredCount, s.ScaledCount, n)
		s.DesiredCount = n
		return nil
	})
}

// SetScale sets (or with nil clears) the manual count of `ferry scale`.
func (o ops) SetScale(ctx context.Context, id int64, n *int) (Service, error) {
	if n != nil && *n < 0 {
		return Service{}, invalid("service %d: scale %d is negative", id, *n)
	}
	return o.updateService(ctx, id, func(_ *Tx, s *Service) error {
		s.ScaledCount = n
		return nil
	})
}

// SetLiveRevision records which revision serves traffic. The revision must
// exist (ErrNotFound).
func (o ops) SetLiveRevision(ctx context.Context, id int64, rev int) (Service, error) {
	return o.updateService(ctx, id, func(t *Tx, s *Service) error {
		if _, err := t.GetRevision(ctx, id, rev); err != nil {
			return err
		}
		s.LiveRevision = rev
		return nil
	})
}

// SetServiceState records the service's condition for status ("running",
// "crash_loop", …) with a human message.
func (o ops) SetServiceState(ctx context.Context, id int64, state, message string) (Service, error) {
	return o.updateService(ctx, id, func(_ *Tx, s *Service) error {
		s.State, s.Message = state, message
		return nil
	})
}

// updateService reads, changes and writes one service in a transaction.
func (o ops) updateService(ctx context.Context, id int64, change func(*Tx, *Service) error) (Service, error) {
	var out Service
	err := o.write(ctx, func(t *Tx) error {
		s, err := t.GetService(ctx, id)
		if err != nil {
			return err
		}
		if err := change(t, &s); err != nil {
			return err
		}
		s.UpdatedAt = now()
		if _, err := t.q.ExecContext(ctx, `UPDATE services SET desired_count = ?, scaled_count = ?, live_revision = ?,
			state = ?, message = ?, updated_at = ? WHERE id = ?`,
			s.DesiredCount, pval(s.ScaledCount), ival(s.LiveRevision), s.State, s.Message, tval(s.UpdatedAt), id); err != nil {
			return wrap("update service", err)
		}
		out = s
		return nil
	})
	return out, err
}
