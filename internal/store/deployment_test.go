package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckTransition(t *testing.T) {
	active := []DeploymentState{DeployPending, DeployInProgress, DeployPaused, DeployRollingBack}
	terminal := []DeploymentState{DeploySucceeded, DeployFailed, DeployRolledBack, DeployAborted, DeploySuperseded}
	all := append(append([]DeploymentState{}, active...), terminal...)
	for _, from := range all {
		for _, to := range all {
			err := CheckTransition(from, to)
			switch {
			case from.Terminal():
				if !errors.Is(err, ErrTerminal) || !errors.Is(err, ErrConflict) {
					t.Errorf("%s → %s = %v, want ErrTerminal", from, to, err)
				}
			case to == DeployPending && from != DeployPending:
				if !errors.Is(err, ErrConflict) {
					t.Errorf("%s → %s = %v, want ErrConflict", from, to, err)
				}
			default:
				if err != nil {
					t.Errorf("%s → %s = %v, want allowed", from, to, err)
				}
			}
		}
		if err := CheckTransition(from, "exploded"); err == nil {
			t.Errorf("%s → unknown state allowed", from)
		}
	}
	for _, s := range terminal {
		if !s.Terminal() || !s.Valid() {
			t.Errorf("%s: Terminal/Valid wrong", s)
		}
	}
	for _, s := range active {
		if s.Terminal() || !s.Valid() {
			t.Errorf("%s: Terminal/Valid wrong", s)
		}
	}
}

func TestDeploymentLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	r1 := newRevision(t, s, svc.ID)
	r2 := newRevision(t, s, svc.ID)

	d, err := s.CreateDeployment(ctx, Deployment{ServiceID: svc.ID, FromRevision: r1.Number, ToRevision: r2.Number, Strategy: "rolling"})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != DeployPending || d.ID == 0 {
		t.Fatalf("created: %+v", d)
	}
	d.State, d.Step, d.Status = DeployInProgress, 2, json.RawMessage(`{"healthy":3}`)
	if d, err = s.UpdateDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	active, err := s.ListDeployments(ctx, svc.ID, 0)
	if err != nil || len(active) != 1 || active[0].ID != d.ID || active[0].State.Terminal() || active[0].Step != 2 || string(active[0].Status) != `{"healthy":3}` {
		t.Fatalf("active: %+v %v", active, err)
	}

	// A second active deployment of the same service is refused.
	if _, err := s.CreateDeployment(ctx, Deployment{ServiceID: svc.ID, FromRevision: r2.Number, ToRevision: r1.Number, Strategy: "rolling"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second active deployment: %v, want ErrConflict", err)
	}
	// Superseding the first in the same transaction lets the new one in.
	var d2 Deployment
	err = s.Tx(ctx, func(tx *Tx) error {
		cur, err := tx.GetDeployment(ctx, d.ID)
		if err != nil {
			return err
		}
		cur.State, cur.Reason = DeploySuperseded, "superseded by a newer deploy"
		if _, err := tx.UpdateDeployment(ctx, cur); err != nil {
			return err
		}
		d2, err = tx.CreateDeployment(ctx, Deployment{ServiceID: svc.ID, FromRevision: r2.Number, ToRevision: r1.Number, Strategy: "canary"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.GetDeployment(ctx, d.ID)
	if err != nil || old.State != DeploySuperseded || old.FinishedAt.IsZero() || old.Reason != "superseded by a newer deploy" {
		t.Fatalf("superseded: %+v %v", old, err)
	}

	// A terminal deployment never moves and is left exactly as it was.
	for _, to := range []DeploymentState{DeployInProgress, DeployRollingBack, DeploySucceeded} {
		moved := old
		moved.State, moved.Reason = to, "again"
		if _, err := s.UpdateDeployment(ctx, moved); !errors.Is(err, ErrTerminal) {
			t.Errorf("terminal → %s: %v, want ErrTerminal", to, err)
		}
	}
	old.Step = 99
	if _, err := s.UpdateDeployment(ctx, old); !errors.Is(err, ErrTerminal) {
		t.Errorf("update of a terminal deployment: %v", err)
	}
	again, _ := s.GetDeployment(ctx, d.ID)
	if again.Step != 2 || again.State != DeploySuperseded || !again.UpdatedAt.Equal(old.UpdatedAt) {
		t.Fatalf("terminal deployment changed: %+v", again)
	}

	latest, err := s.LatestDeployment(ctx, svc.ID)
	if err != nil || latest.ID != d2.ID || latest.Strategy != "canary" {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	all, err := s.ListDeployments(ctx, svc.ID, 0)
	if err != nil || len(all) != 2 || all[0].ID != d2.ID {
		t.Fatalf("list: %+v %v", all, err)
	}
	if _, err := s.CreateDeployment(ctx, Deployment{ServiceID: svc.ID, ToRevision: 42, Strategy: "rolling", State: DeploySucceeded}); !errors.Is(err, ErrConflict) {
		t.Fatalf("deployment to a missing revision: %v, want ErrConflict", err)
	}
	if _, err := s.GetDeployment(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing deployment: %v", err)
	}
}
