package controller

import (
	"context"
	"encoding/json"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// ControlOp is an operator's request on a deployment in flight.
type ControlOp string

const (
	ControlPromote     ControlOp = "promote"      // next step
	ControlPromoteFull ControlOp = "promote_full" // straight to 100%
	ControlAbort       ControlOp = "abort"        // traffic back to the stable revision, deployment aborted
	ControlPause       ControlOp = "pause"
	ControlResume      ControlOp = "resume"
)

// Control records an operator's request in deployment id's controls (the
// engine acts on it at its next reconcile) and wakes the service's loop.
// A deployment that has ended, or a promote of a rolling one, is refused.
func (c *Controller) Control(ctx context.Context, id int64, op ControlOp) error {
	var serviceID int64
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		d, err := tx.GetDeployment(ctx, id)
		if err != nil {
			return err
		}
		if d.State.Terminal() {
			return conflictf("%s: deployment %d has ended (%s)", op, id, d.State)
		}
		serviceID = d.ServiceID
		var doc deploymentDoc
		if len(d.Status) > 0 {
			if err := json.Unmarshal(d.Status, &doc); err != nil {
				return err
			}
		}
		if err := applyControl(&doc.Controls, op, d.Strategy); err != nil {
			return err
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		d.Status = b
		_, err = tx.UpdateDeployment(ctx, d)
		return err
	})
	if err != nil {
		return failure(string(op), masker{}, err)
	}
	c.Notify(serviceID)
	return nil
}

// applyControl is op's change to the controls.
func applyControl(ctl *deploy.Controls, op ControlOp, strategy string) error {
	switch op {
	case ControlPromote, ControlPromoteFull:
		if strategy == "" || deploy.Strategy(strategy) == deploy.StrategyRolling {
			return conflictf("promote: a rolling deployment has no steps to promote (pause, resume or abort it)")
		}
		ctl.Promote++
		ctl.PromoteFull = ctl.PromoteFull || op == ControlPromoteFull
	case ControlAbort:
		ctl.Abort = true
	case ControlPause:
		ctl.Pause = true
	case ControlResume:
		ctl.Pause = false
		ctl.Resume++
	default:
		return invalidf("%q is not a deployment control (promote, abort, pause, resume)", op)
	}
	return nil
}
