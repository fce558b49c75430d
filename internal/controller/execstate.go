package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// execState is what the executor keeps per service beyond the store's rows,
// as one JSON meta value written in the record transaction: the engine's
// ServiceStatus (crash count and backoff). Per-task decisions (generation,
// stop reason) are columns of the task rows.
type execState struct {
	Status deploy.ServiceStatus `json:"status"`
}

func execStateKey(serviceID int64) string { return fmt.Sprintf("controller/service/%d", serviceID) }

type metaReader interface {
	GetMeta(ctx context.Context, key string) (string, error)
}

func loadExecState(ctx context.Context, s metaReader, serviceID int64) (execState, error) {
	var st execState
	v, err := s.GetMeta(ctx, execStateKey(serviceID))
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return st, fmt.Errorf("meta %s: %w", execStateKey(serviceID), err)
	}
	return st, nil
}

func (st execState) save(ctx context.Context, tx *store.Tx, serviceID int64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return tx.SetMeta(ctx, execStateKey(serviceID), string(b))
}

// deploymentDoc is the JSON the controller keeps in a store deployment's
// Status: the engine's Status plus the request's kind and restart options.
type deploymentDoc struct {
	Kind              deploy.Kind     `json:"kind,omitempty"`
	MinHealthyPercent int             `json:"min_healthy_percent,omitempty"`
	Warmup            time.Duration   `json:"warmup,omitempty"`
	Controls          deploy.Controls `json:"controls,omitzero"`
	Status            deploy.Status   `json:"status"`
}

func decodeDeployment(d store.Deployment) (deploy.Deployment, error) {
	var doc deploymentDoc
	if len(d.Status) > 0 {
		if err := json.Unmarshal(d.Status, &doc); err != nil {
			return deploy.Deployment{}, fmt.Errorf("deployment %d: status: %w", d.ID, err)
		}
	}
	return deploy.Deployment{
		ID: depID(d.ID), Kind: doc.Kind, To: d.ToRevision, MinHealthyPercent: doc.MinHealthyPercent,
		Warmup: doc.Warmup, Controls: doc.Controls, Status: doc.Status,
	}, nil
}

// applyStatus returns row with the engine's new status s written into it.
func applyStatus(row store.Deployment, s deploy.Status) (store.Deployment, error) {
	var doc deploymentDoc
	if len(row.Status) > 0 {
		if err := json.Unmarshal(row.Status, &doc); err != nil {
			return row, fmt.Errorf("deployment %d: status: %w", row.ID, err)
		}
	}
	doc.Status = s
	b, err := json.Marshal(doc)
	if err != nil {
		return row, err
	}
	row.Status = b
	row.State = storeState(s.State)
	row.Reason = s.Reason
	row.FailedTasks = s.Failures
	row.Step = s.Step
	return row, nil
}

func storeState(s deploy.DeployState) store.DeploymentState {
	if s == deploy.DeployPending {
		return store.DeployPending
	}
	return store.DeploymentState(s)
}

func depID(id int64) string { return strconv.FormatInt(id, 10) }

func parseDepID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
