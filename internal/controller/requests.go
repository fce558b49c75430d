package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/store"
)

// DeployRequest asks to move services of an app's environment to rendered
// specs and an artifact. The caller rendered ferry.yaml (templates need the
// deployer's environment), so it sends specs and the secret values it read.
type DeployRequest struct {
	App         string
	Environment string
	// Runtime is the default of services that name none ("": process).
	Runtime string
	// Services are the rendered services by name, with real secret values.
	Services map[string]config.Service
	// Secrets are the secret values the rendering read. Each is masked
	// wherever it occurs, inside longer strings too, in every event,
	// status, displayed spec and error about these services.
	Secrets []string
	// Notifications are the app's webhook targets, with real secrets; each
	// revision keeps them and every deployment event is sent to them.
	Notifications []config.Notification
	Artifact      string // "sha256:…", already in the artifact store
	GitSHA        string
	Message       string
	// Kind is the environment's, checked against the one it was created
	// with ("": standard): a deploy by hand never lands in a preview's
	// environment, nor a preview in a long-lived one.
	Kind store.EnvKind
}

// DeploymentRef names a deployment a request created (or joined).
type DeploymentRef struct {
	Service    string
	ServiceID  int64
	Deployment int64
	Revision   int
	// superseded is the notice of the deployment this one superseded, sent
	// once the request commits.
	superseded *notice
}

// Deploy records, per service whose spec or artifact differs from its live
// revision (and from the one in flight), a new revision and a deployment in
// one transaction, superseding a deployment in flight, then wakes the
// service's loop. A service already in flight to the same spec returns that
// deployment; an unchanged service returns none. Bad input changes nothing.
// Errors are *Error, masked with req.Secrets.
func (c *Controller) Deploy(ctx context.Context, req DeployRequest) ([]DeploymentRef, error) {
	refs, err := c.deploy(ctx, req)
	return refs, failure("deploy "+req.App+"/"+req.Environment, newMasker(secretSpellings(req.Secrets)), err)
}

func (c *Controller) deploy(ctx context.Context, req DeployRequest) ([]DeploymentRef, error) {
	switch {
	case req.App == "":
		return nil, invalidf("deploy: no app")
	case req.Environment == "":
		return nil, invalidf("deploy: no environment")
	case len(req.Services) == 0:
		return nil, invalidf("deploy: no services")
	}
	names := slices.Sorted(maps.Keys(req.Services))
	c.retainMu.RLock()
	defer c.retainMu.RUnlock()
	path, err := c.d.Artifacts.Path(req.Artifact)
	if err != nil {
		return nil, invalidf("deploy: artifact %q: %v", req.Artifact, err)
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFoundf("deploy: artifact %s is not in the artifact store (build it first)", req.Artifact)
	}
	if err != nil {
		return nil, internal("deploy: reading artifact "+req.Artifact, err)
	}
	specs := make([]RevisionSpec, 0, len(names))
	for _, n := range names {
		spec := newRevisionSpec(req, n)
		if _, err := c.driverNamed(spec.Runtime); err != nil {
			return nil, invalidf("deploy: service %s: %v", n, err)
		}
		specs = append(specs, spec)
	}
	var refs []DeploymentRef
	err = c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		refs = nil
		if _, err := tx.PutApp(ctx, store.App{Name: req.App}); err != nil {
			return err
		}
		kind := req.Kind
		if kind == "" {
			kind = store.EnvStandard
		}
		if _, err := tx.EnsureEnvironment(ctx, req.App, req.Environment, kind); errors.Is(err, store.ErrConflict) {
			if kind == store.EnvStandard {
				return conflictf("environment %s/%s belongs to a preview: deploy to another environment, or destroy the preview first (ferry preview destroy)", req.App, req.Environment)
			}
			return conflictf("environment %s/%s is a long-lived environment: a preview cannot deploy into it", req.App, req.Environment)
		} else if err != nil {
			return err
		}
		if _, err := tx.PutArtifact(ctx, store.Artifact{Digest: req.Artifact, Size: fi.Size(), Path: path, App: req.App}); err != nil {
			return err
		}
		for _, spec := range specs {
			ref, ok, err := c.deployService(ctx, tx, req, spec)
			if err != nil {
				return fmt.Errorf("deploy: service %s: %w", spec.Service, err)
			}
			if ok {
				refs = append(refs, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal("deploy: recording the revisions and deployments", err)
	}
	for _, r := range refs {
		if r.superseded != nil {
			c.send(ctx, *r.superseded)
		}
		c.Notify(r.ServiceID)
	}
	return refs, nil
}

func (c *Controller) deployService(ctx context.Context, tx *store.Tx, req DeployRequest, spec RevisionSpec) (DeploymentRef, bool, error) {
	svc, err := tx.EnsureService(ctx, req.App, req.Environment, spec.Service)
	if err != nil {
		return DeploymentRef{}, false, err
	}
	if count := req.Services[spec.Service].Count; count != svc.DesiredCount {
		if svc, err = tx.SetDesiredCount(ctx, svc.ID, count); err != nil {
			return DeploymentRef{}, false, err
		}
	}
	ref := DeploymentRef{Service: spec.Service, ServiceID: svc.ID}
	active, err := activeDeployment(ctx, tx, svc.ID)
	if err != nil {
		return ref, false, err
	}
	if active != nil {
		if same, err := c.sameRevision(ctx, tx, svc.ID, active.ToRevision, spec); err != nil {
			return ref, false, err
		} else if same {
			ref.Deployment, ref.Revision = active.ID, active.ToRevision
			return ref, true, nil
		}
	} else if svc.LiveRevision != 0 {
		if same, err := c.sameRevision(ctx, tx, svc.ID, svc.LiveRevision, spec); err != nil || same {
			return ref, false, err
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return ref, false, err
	}
	masked, err := spec.masked()
	if err != nil {
		return ref, false, err
	}
	rev, err := tx.CreateRevision(ctx, store.Revision{ServiceID: svc.ID, Spec: raw, MaskedSpec: masked,
		ArtifactDigest: spec.Artifact, GitSHA: spec.GitSHA, Message: req.Message})
	if err != nil {
		return ref, false, err
	}
	d, sup, err := c.createDeployment(ctx, tx, svc, active, rev.Number, deploymentDoc{Kind: deploy.KindDeploy}, spec)
	if err != nil {
		return ref, false, err
	}
	ref.Deployment, ref.Revision, ref.superseded = d.ID, rev.Number, sup
	return ref, true, nil
}

func (c *Controller) sameRevision(ctx context.Context, tx *store.Tx, serviceID int64, n int, spec RevisionSpec) (bool, error) {
	r, err := tx.GetRevision(ctx, serviceID, n)
	if err != nil {
		return false, err
	}
	var old RevisionSpec
	if err := json.Unmarshal(r.Spec, &old); err != nil {
		return false, err
	}
	return old.sameAs(spec), nil
}

func activeDeployment(ctx context.Context, tx *store.Tx, serviceID int64) (*store.Deployment, error) {
	d, err := tx.LatestDeployment(ctx, serviceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || d.State.Terminal() {
		return nil, err
	}
	return &d, nil
}

// createDeployment supersedes the deployment in flight, if any (returning
// the notice to send of it), and records a pending one to revision to.
func (c *Controller) createDeployment(ctx context.Context, tx *store.Tx, svc store.Service, active *store.Deployment,
	to int, doc deploymentDoc, spec RevisionSpec) (store.Deployment, *notice, error) {
	status, err := json.Marshal(doc)
	if err != nil {
		return store.Deployment{}, nil, err
	}
	var sup *notice
	if active != nil {
		reason := "superseded by a newer deployment"
		old, err := decodeDeployment(*active)
		if err != nil {
			return store.Deployment{}, nil, err
		}
		old.Status.State, old.Status.Reason, old.Status.EndedAt = deploy.DeploySuperseded, reason, c.now()
		row, err := applyStatus(*active, old.Status)
		if err != nil {
			return store.Deployment{}, nil, err
		}
		if _, err := tx.UpdateDeployment(ctx, row); err != nil {
			return store.Deployment{}, nil, err
		}
		if _, err := tx.AppendEvent(ctx, store.Event{App: svc.App, Env: svc.Env, Service: svc.Name, Deployment: active.ID,
			Type: string(deploy.EventDeploymentSuperseded), Message: fmt.Sprintf("deployment %d %s", active.ID, reason)}); err != nil {
			return store.Deployment{}, nil, err
		}
		sup = &notice{event: string(store.DeploySuperseded), svc: svc, dep: row}
	}
	strategy := spec.Spec.Deploy.Strategy
	if strategy == "" {
		strategy = string(deploy.StrategyRolling)
	}
	d, err := tx.CreateDeployment(ctx, store.Deployment{ServiceID: svc.ID, FromRevision: svc.LiveRevision, ToRevision: to,
		Strategy: strategy, Status: status})
	return d, sup, err
}

// Rollback deploys an earlier revision of a service: to, or when to is 0
// the revision that was live before the live one (or the live one itself,
// when a deployment is in flight).
func (c *Controller) Rollback(ctx context.Context, serviceID int64, to int) (DeploymentRef, error) {
	ref, err := c.rollback(ctx, serviceID, to)
	return ref, failure("rollback", masker{}, err)
}

func (c *Controller) rollback(ctx context.Context, serviceID int64, to int) (DeploymentRef, error) {
	var ref DeploymentRef
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		svc, err := tx.GetService(ctx, serviceID)
		if err != nil {
			return err
		}
		ref = DeploymentRef{Service: svc.Name, ServiceID: svc.ID}
		active, err := activeDeployment(ctx, tx, serviceID)
		if err != nil {
			return err
		}
		if to == 0 {
			if to, err = rollbackTarget(ctx, tx, svc, active); err != nil {
				return err
			}
		}
		if to == svc.LiveRevision && active == nil {
			return conflictf("rollback: r%d is already live", to)
		}
		rev, err := tx.GetRevision(ctx, serviceID, to)
		if err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		var spec RevisionSpec
		if err := json.Unmarshal(rev.Spec, &spec); err != nil {
			return err
		}
		d, sup, err := c.createDeployment(ctx, tx, svc, active, to, deploymentDoc{Kind: deploy.KindRollback}, spec)
		ref.Deployment, ref.Revision, ref.superseded = d.ID, to, sup
		return err
	})
	if err == nil {
		if ref.superseded != nil {
			c.send(ctx, *ref.superseded)
		}
		c.Notify(serviceID)
	}
	return ref, err
}

func rollbackTarget(ctx context.Context, tx *store.Tx, svc store.Service, active *store.Deployment) (int, error) {
	if active != nil && svc.LiveRevision != 0 {
		return svc.LiveRevision, nil
	}
	deps, err := tx.ListDeployments(ctx, svc.ID, 0)
	if err != nil {
		return 0, err
	}
	for _, d := range deps {
		if d.State == store.DeploySucceeded && d.ToRevision == svc.LiveRevision && d.FromRevision != 0 && d.FromRevision != svc.LiveRevision {
			return d.FromRevision, nil
		}
	}
	return 0, notFoundf("rollback: %s/%s/%s has no earlier live revision (name one with --to)", svc.App, svc.Env, svc.Name)
}

// Scale sets a service's count; it holds across deploys until ferry.yaml's
// count changes.
func (c *Controller) Scale(ctx context.Context, serviceID int64, n int) error {
	if n < 0 {
		return invalidf("scale: count %d is negative", n)
	}
	if _, err := c.d.Store.SetScale(ctx, serviceID, &n); err != nil {
		return failure("scale", masker{}, err)
	}
	c.Notify(serviceID)
	return nil
}

// Restart replaces every task of a service with a new one of the live
// revision (an instance refresh). minHealthyPercent (0-100) and warmup
// override max_unavailable and min_healthy_time; 0 keeps the service's.
func (c *Controller) Restart(ctx context.Context, serviceID int64, minHealthyPercent int, warmup time.Duration) (DeploymentRef, error) {
	ref, err := c.restart(ctx, serviceID, minHealthyPercent, warmup)
	return ref, failure("restart", masker{}, err)
}

func (c *Controller) restart(ctx context.Context, serviceID int64, minHealthyPercent int, warmup time.Duration) (DeploymentRef, error) {
	if minHealthyPercent < 0 || minHealthyPercent > 100 {
		return DeploymentRef{}, invalidf("restart: min healthy %d%% is not between 0 and 100", minHealthyPercent)
	}
	if warmup < 0 {
		return DeploymentRef{}, invalidf("restart: warmup %s is negative", warmup)
	}
	var ref DeploymentRef
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		svc, err := tx.GetService(ctx, serviceID)
		if err != nil {
			return err
		}
		if svc.LiveRevision == 0 {
			return conflictf("restart: %s/%s/%s has no live revision", svc.App, svc.Env, svc.Name)
		}
		active, err := activeDeployment(ctx, tx, serviceID)
		if err != nil {
			return err
		}
		if active != nil {
			return conflictf("restart: deployment %d is in flight", active.ID)
		}
		rev, err := tx.GetRevision(ctx, serviceID, svc.LiveRevision)
		if err != nil {
			return err
		}
		var spec RevisionSpec
		if err := json.Unmarshal(rev.Spec, &spec); err != nil {
			return err
		}
		d, _, err := c.createDeployment(ctx, tx, svc, nil, svc.LiveRevision,
			deploymentDoc{Kind: deploy.KindRestart, MinHealthyPercent: minHealthyPercent, Warmup: warmup}, spec)
		ref = DeploymentRef{Service: svc.Name, ServiceID: svc.ID, Deployment: d.ID, Revision: svc.LiveRevision}
		return err
	})
	if err == nil {
		c.Notify(serviceID)
	}
	return ref, err
}
