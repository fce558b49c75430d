package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// keptRevisions reports which of one service's revisions (newest first)
// stay: the keep newest, the live one, the rollback target and those still
// in use. Their artifacts, images and task outputs are kept.
func keptRevisions(revs []store.Revision, keep, live, rollback int, inUse map[int]bool) map[int]bool {
	kept := map[int]bool{}
	for i, r := range revs {
		kept[r.Number] = i < keep || r.Number == live || r.Number == rollback || inUse[r.Number]
	}
	return kept
}

// revisionsToKeep picks, from one service's revisions, the artifacts of the
// kept ones.
func revisionsToKeep(revs []store.Revision, kept map[int]bool) []string {
	var out []string
	for _, r := range revs {
		if kept[r.Number] && r.ArtifactDigest != "" {
			out = append(out, r.ArtifactDigest)
		}
	}
	return out
}

// imagesToKeep picks, from one service's revisions, the images of the kept
// docker revisions, and reports whether any of its revisions ran on docker.
// A spec that cannot be read is an error: its image might be one to keep.
func imagesToKeep(revs []store.Revision, kept map[int]bool) (images []string, docker bool, err error) {
	for _, r := range revs {
		var spec RevisionSpec
		if err := json.Unmarshal(r.Spec, &spec); err != nil {
			return nil, false, fmt.Errorf("%v: reading its spec: %w", r, err)
		}
		if spec.Runtime != config.RuntimeDocker {
			continue
		}
		docker = true
		if kept[r.Number] && spec.Spec.Image != nil && spec.Spec.Image.Ref != "" {
			images = append(images, spec.Spec.Image.Ref)
		}
	}
	return images, docker, nil
}

// imageCollector is a driver that removes the images it built but those
// kept (the docker driver).
type imageCollector interface {
	RemoveImages(ctx context.Context, keep []string) ([]string, error)
}

// collectImages removes the images of the docker driver but keep, when the
// server runs one.
func (c *Controller) collectImages(ctx context.Context, keep []string) ([]string, error) {
	d, err := c.driverNamed(config.RuntimeDocker)
	if err != nil {
		return nil, nil
	}
	gc, ok := d.(imageCollector)
	if !ok {
		return nil, nil
	}
	slices.Sort(keep)
	removed, err := gc.RemoveImages(ctx, slices.Compact(keep))
	if err != nil {
		return removed, fmt.Errorf("image retention: %w", err)
	}
	return removed, nil
}

// retainLater applies retention in the background after a deployment ended.
func (c *Controller) retainLater() {
	c.mu.Lock()
	ctx := c.ctx
	c.retained = time.Now()
	c.mu.Unlock()
	if ctx == nil {
		return
	}
	c.spawn(ctx, 0, "retention", func(ctx context.Context) {
		if removed, err := c.Retain(ctx); err != nil {
			c.log.Error("retention", "err", err)
		} else if len(removed) > 0 {
			c.log.Info("retention", "removed", removed)
		}
	})
}

// retainSoon is retainLater for tasks gone outside a deployment, at most
// once per RetainEvery. Each gone task leaves its output (bounded by
// rotation); without it a crash loop, which ends no deployment, would keep
// every replaced task's output until the next deploy.
func (c *Controller) retainSoon() {
	c.mu.Lock()
	due := time.Since(c.retained) >= c.d.RetainEvery
	c.mu.Unlock()
	if due {
		c.retainLater()
	}
}

// Retain removes the artifacts, release directories, docker images and task
// outputs no service needs: it keeps, per service, the last KeepRevisions
// revisions, the live one, the rollback target and those of tasks or
// deployments in flight, plus every artifact the store records that no
// revision uses yet (built, not yet deployed). Images are collected only
// when a revision ran on docker and the server runs a docker driver. Of the
// tasks that are gone, the output of the newest KeepGoneOutputs per service
// of those revisions stays (outputsToRemove). It returns the artifact
// digests and image IDs removed, and "logs of N tasks" when it removed
// task outputs.
func (c *Controller) Retain(ctx context.Context) ([]string, error) {
	c.retainMu.Lock()
	defer c.retainMu.Unlock()
	svcs, err := c.d.Store.ListServices(ctx, store.ServiceFilter{})
	if err != nil {
		return nil, err
	}
	var keep, images []string
	anyDocker := false
	used := map[string]bool{}
	revisions := map[string]map[int]bool{} // kept, by task id prefix
	for _, s := range svcs {
		revs, err := c.d.Store.ListRevisions(ctx, s.ID, 0)
		if err != nil {
			return nil, err
		}
		for _, r := range revs {
			used[r.ArtifactDigest] = true
		}
		inUse := map[int]bool{}
		tasks, err := c.d.Store.ListTasks(ctx, store.TaskFilter{ServiceID: s.ID, Live: true})
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			inUse[t.Revision] = true
		}
		deps, err := c.d.Store.ListDeployments(ctx, s.ID, 0)
		if err != nil {
			return nil, err
		}
		rollback := 0
		for _, d := range deps { // newest first
			if !d.State.Terminal() {
				inUse[d.ToRevision], inUse[d.FromRevision] = true, true
			}
			if rollback == 0 && d.State == store.DeploySucceeded && d.ToRevision == s.LiveRevision && d.FromRevision != s.LiveRevision {
				rollback = d.FromRevision
			}
		}
		kept := keptRevisions(revs, c.d.KeepRevisions, s.LiveRevision, rollback, inUse)
		keep = append(keep, revisionsToKeep(revs, kept)...)
		revisions[taskPrefix(s)] = kept
		ims, docker, err := imagesToKeep(revs, kept)
		if err != nil {
			return nil, err
		}
		images, anyDocker = append(images, ims...), anyDocker || docker
	}
	arts, err := c.d.Store.ListArtifacts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		if !used[a.Digest] {
			keep = append(keep, a.Digest)
		}
	}
	slices.Sort(keep)
	removed, err := c.d.Artifacts.Retain(ctx, slices.Compact(keep))
	if err != nil {
		return removed, err
	}
	n, err := c.pruneOutputs(ctx, revisions)
	if n > 0 {
		removed = append(removed, fmt.Sprintf("logs of %d tasks", n))
	}
	if err != nil {
		return removed, fmt.Errorf("log retention: %w", err)
	}
	if !anyDocker {
		return removed, nil
	}
	ids, err := c.collectImages(ctx, images)
	return append(removed, ids...), err
}
