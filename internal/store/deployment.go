package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DeploymentState is where a deployment is in its life.
type DeploymentState string

// Deployment states.
const (
	DeployPending     DeploymentState = "pending"
	DeployInProgress  DeploymentState = "in_progress"
	DeployPaused      DeploymentState = "paused"
	DeploySucceeded   DeploymentState = "succeeded"
	DeployFailed      DeploymentState = "failed"
	DeployRollingBack DeploymentState = "rolling_back"
	DeployRolledBack  DeploymentState = "rolled_back"
	DeployAborted     DeploymentState = "aborted"
	DeploySuperseded  DeploymentState = "superseded"
)

// Valid reports whether s is a known state.
func (s DeploymentState) Valid() bool {
	switch s {
	case DeployPending, DeployInProgress, DeployPaused, DeployRollingBack,
		DeploySucceeded, DeployFailed, DeployRolledBack, DeployAborted, DeploySuperseded:
		return true
	}
	return false
}

// Terminal reports whether a deployment in state s is finished for good.
func (s DeploymentState) Terminal() bool {
	switch s {
	case DeploySucceeded, DeployFailed, DeployRolledBack, DeployAborted, DeploySuperseded:
		return true
	}
	return false
}

// CheckTransition reports whether a deployment may move from one state to
// another: never out of a terminal state, never back to pending, never to an
// unknown state. Staying in a non-terminal state is allowed.
func CheckTransition(from, to DeploymentState) error {
	switch {
	case !to.Valid():
		return invalid("deployment state %q is unknown", to)
	case from.Terminal():
		return fmt.Errorf("deployment is %s: %w", from, ErrTerminal)
	case to == DeployPending && from != DeployPending:
		return fmt.Errorf("deployment cannot go back from %s to pending: %w", from, ErrConflict)
	}
	return nil
}

// Deployment is the move of a service from one revision to another.
type Deployment struct {
	ID                 int64
	ServiceID          int64
	FromRevision       int // 0 for a first deployment
	ToRevision         int
	Strategy           string
	State              DeploymentState
	Reason             string
	Step               int
	FailedTasks        int
	ProgressDeadlineAt time.Time
	// Status is the deploy engine's own JSON; the store only keeps it.
	Status     json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // set when the deployment reaches a terminal state
}

const deploymentCols = `id, service_id, from_revision, to_revision, strategy, state, reason, step, failed_tasks,
	progress_deadline_at, status, created_at, updated_at, finished_at`

func scanDeployment(sc interface{ Scan(...any) error }) (Deployment, error) {
	var d Deployment
	err := sc.Scan(&d.ID, &d.ServiceID, intCol[int]{&d.FromRevision}, &d.ToRevision, &d.Strategy, &d.State, &d.Reason,
		&d.Step, &d.FailedTasks, timeCol{&d.ProgressDeadlineAt}, blobCol{&d.Status}, timeCol{&d.CreatedAt},
		timeCol{&d.UpdatedAt}, timeCol{&d.FinishedAt})
	return d, err
}

// CreateDeployment records a new deployment (state pending unless given).
// A service has at most one active deployment: supersede the current one in
// the same Tx first, or get ErrConflict. Both revisions must exist.
func (o ops) CreateDeployment(ctx context.Context, d Deployment) (Deployment, error) {
	if d.State == "" {
		d.State = DeployPending
	}
	if !d.State.Valid() {
		return Deployment{}, invalid("deployment: unknown state %q", d.State)
	}
	if d.Strategy == "" {
		return Deployment{}, invalid("deployment of service %d: empty strategy", d.ServiceID)
	}
	status, err := jval("deployment status", d.Status)
	if err != nil {
		return Deployment{}, err
	}
	d.CreatedAt = now()
	d.UpdatedAt = d.CreatedAt
	d.FinishedAt = time.Time{}
	if d.State.Terminal() {
		d.FinishedAt = d.CreatedAt
	}
	err = o.write(ctx, func(t *Tx) error {
		err := t.q.QueryRowContext(ctx, `INSERT INTO deployments (service_id, from_revision, to_revision, strategy, state,
			reason, step, failed_tasks, progress_deadline_at, status, created_at, updated_at, finished_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.ServiceID, ival(d.FromRevision), d.ToRevision, d.Strategy, d.State, d.Reason, d.Step, d.FailedTasks,
			tval(d.ProgressDeadlineAt), status, tval(d.CreatedAt), tval(d.UpdatedAt), tval(d.FinishedAt)).Scan(&d.ID)
		return wrap(fmt.Sprintf("create deployment of service %d", d.ServiceID), err)
	})
	if err != nil {
		return Deployment{}, err
	}
	return d, nil
}

// GetDeployment returns the deployment with this id.
func (o ops) GetDeployment(ctx context.Context, id int64) (Deployment, error) {
	d, err := scanDeployment(o.q.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, notFound("deployment %d", id)
	}
	return d, wrap("get deployment", err)
}

// LatestDeployment returns the service's most recent deployment.
func (o ops) LatestDeployment(ctx context.Context, serviceID int64) (Deployment, error) {
	d, err := scanDeployment(o.q.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE service_id = ?
		ORDER BY id DESC LIMIT 1`, serviceID))
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, notFound("service %d has no deployment", serviceID)
	}
	return d, wrap("latest deployment", err)
}

// ListDeployments returns the service's deployments, newest first; limit 0
// means all.
func (o ops) ListDeployments(ctx context.Context, serviceID int64, limit int) ([]Deployment, error) {
	if limit <= 0 {
		limit = -1
	}
	return list(ctx, o.q, "list deployments", scanDeployment, `SELECT `+deploymentCols+` FROM deployments
		WHERE service_id = ? ORDER BY id DESC LIMIT ?`, serviceID, limit)
}

// UpdateDeployment writes the mutable fields of d (state, reason, step,
// failed tasks, progress deadline, status). A finished deployment never
// changes (ErrTerminal); a state change must pass CheckTransition.
func (o ops) UpdateDeployment(ctx context.Context, d Deployment) (Deployment, error) {
	status, err := jval("deployment status", d.Status)
	if err != nil {
		return Deployment{}, err
	}
	var out Deployment
	err = o.write(ctx, func(t *Tx) error {
		cur, err := t.GetDeployment(ctx, d.ID)
		if err != nil {
			return err
		}
		if err := CheckTransition(cur.State, d.State); err != nil {
			return fmt.Errorf("store: update deployment %d: %w", d.ID, err)
		}
		d.ServiceID, d.FromRevision, d.ToRevision, d.Strategy, d.CreatedAt = cur.ServiceID, cur.FromRevision, cur.ToRevision, cur.Strategy, cur.CreatedAt
		d.UpdatedAt = now()
		d.FinishedAt = time.Time{}
		if d.State.Terminal() {
			d.FinishedAt = d.UpdatedAt
		}
		if _, err := t.q.ExecContext(ctx, `UPDATE deployments SET state = ?, reason = ?, step = ?, failed_tasks = ?,
			progress_deadline_at = ?, status = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
			d.State, d.Reason, d.Step, d.FailedTasks, tval(d.ProgressDeadlineAt), status, tval(d.UpdatedAt),
			tval(d.FinishedAt), d.ID); err != nil {
			return wrap(fmt.Sprintf("update deployment %d", d.ID), err)
		}
		out = d
		return nil
	})
	return out, err
}
