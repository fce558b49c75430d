package preview

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/ferrycd/ferry/internal/build"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/store"
)

// action is what a git event asks of previews.
type action int

const (
	actNone          action = iota
	actUpsert               // build and deploy the PR's head (label-gated)
	actDestroy              // destroy the PR's preview
	actDestroyBranch        // destroy every preview of the deleted branch
	actDeployPush           // build and deploy the default branch to PushEnv
)

// decide maps an event to its action. Pull requests are label-gated later,
// once ferry.yaml (where the opt-in label is) has been read at the head.
func decide(ev github.Event, pushEnv string) action {
	switch ev.Kind {
	case github.KindPullRequest:
		switch ev.Action {
		case "opened", "reopened", "synchronize", "labeled", "unlabeled":
			return actUpsert
		case "closed":
			return actDestroy
		}
	case github.KindPush:
		switch {
		case ev.Branch == "":
			return actNone
		case ev.Deleted:
			return actDestroyBranch
		case ev.Branch == ev.DefaultBranch && pushEnv != "":
			return actDeployPush
		}
	}
	return actNone
}

// HandleDelivery acts on one webhook delivery. A payload that does not
// parse, or names a repository that is not configured, is *Permanent.
func (m *Manager) HandleDelivery(ctx context.Context, d store.Delivery) error {
	ev, err := github.Parse(d.Event, d.Payload)
	if err != nil {
		return permanent(err)
	}
	act := decide(ev, m.cfg.PushEnv)
	if act == actNone {
		return nil
	}
	if m.cfg.Repos[ev.Repo] == "" {
		return permanent(fmt.Errorf("repository %q is not configured (server flag --repo %s=<clone URL or path>)", ev.Repo, ev.Repo))
	}
	switch act {
	case actUpsert:
		_, err := m.upsertGated(ctx, Change{Repo: ev.Repo, PR: ev.PR, Branch: ev.Branch, SHA: ev.SHA}, ev.Labels)
		return err
	case actDestroy:
		why := "pull request closed"
		if ev.Merged {
			why = "pull request merged"
		}
		return m.Destroy(ctx, store.PreviewKey{Repo: ev.Repo, PR: ev.PR}, why)
	case actDestroyBranch:
		return m.destroyBranch(ctx, ev.Repo, ev.Branch)
	case actDeployPush:
		return m.deployPush(ctx, ev)
	}
	return nil
}

// upsertGated is Upsert for a pull request, which needs the opt-in label
// when ferry.yaml names one: without it, its preview is destroyed instead.
func (m *Manager) upsertGated(ctx context.Context, c Change, labels []string) (store.Preview, error) {
	src, err := m.source(c)
	if err != nil {
		return store.Preview{}, err
	}
	dir, sha, err := m.src.fetch(ctx, src, c.Branch, c.SHA)
	if err != nil {
		return store.Preview{}, permanent(fmt.Errorf("preview of %s: %w", identity(c.key()), err))
	}
	def, err := m.definition(ctx, dir, sha)
	if err != nil {
		return store.Preview{}, err
	}
	if l := def.Preview.Label; l != "" && !slices.Contains(labels, l) {
		return store.Preview{}, m.Destroy(ctx, c.key(), "pull request without the label "+l)
	}
	c.Source, c.SHA = src, sha
	return m.Upsert(ctx, c)
}

// destroyBranch destroys every preview of repo's deleted branch.
func (m *Manager) destroyBranch(ctx context.Context, repo, branch string) error {
	all, err := m.cfg.Store.ListPreviews(ctx, store.PreviewFilter{})
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.Repo == repo && p.Branch == branch {
			if err := m.Destroy(ctx, keyOf(p), "branch "+branch+" deleted"); err != nil {
				return err
			}
		}
	}
	return nil
}

// deployPush builds the default branch's new head and deploys it to
// PushEnv, returning once it is live.
func (m *Manager) deployPush(ctx context.Context, ev github.Event) error {
	src := m.cfg.Repos[ev.Repo]
	dir, sha, err := m.src.fetch(ctx, src, ev.Branch, ev.SHA)
	if err != nil {
		return permanent(err)
	}
	data, err := read(ctx, dir, sha, definitionFile)
	if err != nil {
		return permanent(err)
	}
	def, err := config.Parse(filepath.Join(dir, definitionFile), data, config.Options{Home: m.cfg.Home.Root(), Environment: m.cfg.PushEnv})
	if err != nil {
		return permanent(fmt.Errorf("%.12s: %w", sha, err))
	}
	// The push's trace is its environment's: no preview owns it.
	trace := store.Preview{App: def.App, Env: m.cfg.PushEnv}
	m.event(ctx, trace, "build.started", "building %s %s at %.12s for %s", ev.Repo, ev.Branch, sha, m.cfg.PushEnv)
	res, err := build.Build(ctx, build.Options{
		RepoDir: dir, Commit: sha, Steps: buildSteps(def.Build.Steps), Output: def.Build.Output, Home: m.cfg.Home,
		Log: &eventLog{m: m, ctx: ctx, p: trace, mask: def.Mask},
	})
	if err != nil {
		err = fmt.Errorf("build of %s at %.12s: %s", ev.Repo, sha, def.Mask(err.Error()))
		m.event(ctx, trace, "build.failed", "%s", err)
		return permanent(err)
	}
	m.event(ctx, trace, "build.succeeded", "built %s at %.12s: %s", ev.Repo, sha, res.Digest)
	req := Deploy{
		App: def.App, Environment: m.cfg.PushEnv, Runtime: def.Runtime, Services: map[string]config.Service{},
		Secrets: def.SecretValues(), Artifact: res.Digest, GitSHA: sha,
		Message: fmt.Sprintf("push to %s at %.12s", ev.Branch, sha),
	}
	for name, s := range def.Services {
		req.Services[name] = *s
	}
	if err := m.cfg.Environments.Deploy(ctx, req); err != nil {
		return permanent(fmt.Errorf("deploy of %s to %s: %s", ev.Repo, m.cfg.PushEnv, def.Mask(err.Error())))
	}
	return nil
}
