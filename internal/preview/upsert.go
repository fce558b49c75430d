package preview

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/ferrycd/ferry/internal/build"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// Change asks for the preview of a branch at a commit.
type Change struct {
	Repo   string // identity: owner/name, or a watched repository's path
	Source string // clone URL or local path; "" means Config.Repos[Repo]
	PR     int    // 0 for a branch preview
	Branch string
	SHA    string // "" means the branch's head
}

func (c Change) key() store.PreviewKey {
	return store.PreviewKey{Repo: c.Repo, PR: c.PR, Branch: c.Branch}
}

func (m *Manager) source(c Change) (string, error) {
	if c.Source != "" {
		return c.Source, nil
	}
	if s := m.cfg.Repos[c.Repo]; s != "" {
		return s, nil
	}
	return "", permanent(fmt.Errorf("repository %q is not configured (server flag --repo %s=<clone URL or path>)", c.Repo, c.Repo))
}

// Upsert builds the commit and deploys it as the preview of c's identity,
// creating the preview (within the app's cap, on a free host) when there
// is none. It returns once the preview answers or failed; a commit the
// preview already runs changes nothing. Errors that retrying cannot fix
// are *Permanent.
func (m *Manager) Upsert(ctx context.Context, c Change) (store.Preview, error) {
	if c.Repo == "" || c.Branch == "" || c.PR < 0 {
		return store.Preview{}, permanent(fmt.Errorf("preview: needs a repository and a branch (got %q, %q)", c.Repo, c.Branch))
	}
	src, err := m.source(c)
	if err != nil {
		return store.Preview{}, err
	}
	defer m.lock(c.key())()
	dir, sha, err := m.src.fetch(ctx, src, c.Branch, c.SHA)
	if err != nil {
		return store.Preview{}, permanent(fmt.Errorf("preview of %s: %w", identity(c.key()), err))
	}
	def, err := m.definition(ctx, dir, sha)
	if err != nil {
		return store.Preview{}, err
	}
	cur, err := m.cfg.Store.FindPreview(ctx, c.key())
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return store.Preview{}, err
	case cur.State == store.PreviewDestroying:
		if err := m.destroy(ctx, cur); err != nil {
			return store.Preview{}, err
		}
	case cur.HeadSHA == sha && cur.State == store.PreviewReady:
		return cur, nil
	}
	p, created, err := m.record(ctx, c, def, sha)
	if err != nil {
		return store.Preview{}, err
	}
	st := m.loadState(ctx, p.ID)
	st.Source = src
	m.reportStart(ctx, p, &st)
	m.event(ctx, p, "preview.building", "building %s at %.12s for %s", p.Branch, sha, p.Host)
	res, err := build.Build(ctx, build.Options{
		RepoDir: dir, Commit: sha, Steps: buildSteps(def.Build.Steps), Output: def.Build.Output, Home: m.cfg.Home,
		Log: &eventLog{m: m, ctx: ctx, p: p, mask: def.Mask},
	})
	if err != nil {
		return m.failed(ctx, p, &st, def, fmt.Errorf("build: %w", err))
	}
	st.Artifact = res.Digest
	if err := m.saveState(ctx, p.ID, st); err != nil {
		return store.Preview{}, err
	}
	pd, err := def.PreviewFor(config.PreviewTarget{Branch: p.Branch, PR: p.PR, Slug: p.Slug, Environment: p.Env})
	if err != nil {
		return m.failed(ctx, p, &st, def, err)
	}
	req := Deploy{
		App: p.App, Environment: p.Env, Runtime: pd.Runtime, Services: map[string]config.Service{},
		Secrets: def.SecretValues(), Artifact: res.Digest, GitSHA: sha,
		Message: fmt.Sprintf("preview of %s at %.12s", p.Branch, sha),
	}
	for name, s := range pd.Services {
		req.Services[name] = *s
	}
	if err := m.cfg.Environments.Deploy(ctx, req); err != nil {
		return m.failed(ctx, p, &st, def, fmt.Errorf("deploy: %w", err))
	}
	if created && def.Preview.Hooks.OnCreate != nil {
		if err := m.runHook(ctx, p, res.Digest, "on_create", def.Preview.Hooks.OnCreate, def.Mask); err != nil {
			return m.failed(ctx, p, &st, def, err)
		}
	}
	p.State, p.URL = store.PreviewReady, m.cfg.URL(p.Host)
	if p, err = m.cfg.Store.UpdatePreview(ctx, p); err != nil {
		return store.Preview{}, err
	}
	m.event(ctx, p, "preview.ready", "%s at %.12s is live at %s", p.Branch, sha, p.URL)
	m.reportDone(ctx, p, &st)
	return p, nil
}

// definition reads and renders ferry.yaml at sha. A bad definition is
// permanent: the commit will not get better.
func (m *Manager) definition(ctx context.Context, dir, sha string) (*config.Definition, error) {
	data, err := read(ctx, dir, sha, definitionFile)
	if err != nil {
		return nil, permanent(err)
	}
	def, err := config.Parse(filepath.Join(dir, definitionFile), data, config.Options{Home: m.cfg.Home.Root()})
	if err != nil {
		return nil, permanent(fmt.Errorf("%.12s: %w", sha, err))
	}
	return def, nil
}

// record creates the preview's row, or moves an existing one to the new
// commit, before anything is built: a restart finds it.
func (m *Manager) record(ctx context.Context, c Change, def *config.Definition, sha string) (p store.Preview, created bool, err error) {
	now := m.now()
	err = m.cfg.Store.Tx(ctx, func(tx *store.Tx) error {
		cur, err := tx.FindPreview(ctx, c.key())
		if err == nil {
			cur.HeadSHA, cur.State, cur.LastPushAt, cur.ExpiresAt = sha, store.PreviewCreating, now, now.Add(def.Preview.TTL)
			if p, err = tx.UpdatePreview(ctx, cur); err != nil {
				return err
			}
			// A push may add a routed service: its host is claimed too.
			hosts, err := previewHosts(def, c, p.Slug)
			if err != nil {
				return permanent(err)
			}
			return setHosts(ctx, tx, p.ID, hosts)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		all, err := tx.ListPreviews(ctx, store.PreviewFilter{})
		if err != nil {
			return err
		}
		used, live := map[string]bool{}, 0
		for _, o := range all {
			used[o.Host] = true
			for _, h := range readState(ctx, tx, o.ID).Hosts {
				used[h] = true
			}
			if o.App == def.App {
				live++
			}
		}
		if def.Preview.Max > 0 && live >= def.Preview.Max {
			return permanent(fmt.Errorf("app %s already has %d previews, its cap (preview.max); destroy one first", def.App, live))
		}
		// A label is taken when any host it gives the preview's services
		// (<slug> for the main one, <service>-<slug> for the others) is
		// another preview's: branch "api-x" and branch "x"'s api service
		// would otherwise claim one host.
		var hosts []string
		var hostErr error
		slug, err := chooseSlug(c.Branch, identity(c.key()), func(s string) bool {
			hs, err := previewHosts(def, c, s)
			if err != nil {
				hostErr = err
				return true
			}
			for _, h := range hs {
				if used[h] {
					return true
				}
			}
			hosts = hs
			return false
		})
		if hostErr != nil {
			return permanent(hostErr)
		}
		if err != nil {
			return permanent(err)
		}
		p, err = tx.CreatePreview(ctx, store.Preview{
			App: def.App, Repo: c.Repo, PR: c.PR, Branch: c.Branch, Slug: slug, Env: envName(c.PR, slug),
			Host: slug + "." + def.Preview.Domain, State: store.PreviewCreating, HeadSHA: sha,
			LastPushAt: now, ExpiresAt: now.Add(def.Preview.TTL),
		})
		if err != nil {
			return err
		}
		created = true
		return setHosts(ctx, tx, p.ID, hosts)
	})
	return p, created, err
}

// previewHosts are the hosts the services of c's preview claim when its
// label is slug.
func previewHosts(def *config.Definition, c Change, slug string) ([]string, error) {
	pd, err := def.PreviewFor(config.PreviewTarget{Branch: c.Branch, PR: c.PR, Slug: slug, Environment: envName(c.PR, slug)})
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, name := range pd.ServiceNames() {
		for _, r := range pd.Services[name].Routes {
			if !slices.Contains(hosts, r.Host) {
				hosts = append(hosts, r.Host)
			}
		}
	}
	return hosts, nil
}

// setHosts records the hosts of preview id in its state.
func setHosts(ctx context.Context, tx *store.Tx, id int64, hosts []string) error {
	s := readState(ctx, tx, id)
	s.Hosts = hosts
	return writeState(ctx, tx, id, s)
}

// failed records a preview's failure and reports it; the error is masked
// and permanent (the same commit would fail again).
func (m *Manager) failed(ctx context.Context, p store.Preview, st *state, def *config.Definition, cause error) (store.Preview, error) {
	msg := def.Mask(cause.Error())
	p.State = store.PreviewFailed
	if up, err := m.cfg.Store.UpdatePreview(ctx, p); err == nil {
		p = up
	}
	m.event(ctx, p, "preview.failed", "%s", msg)
	m.reportFailed(ctx, p, st)
	return p, permanent(fmt.Errorf("preview %s: %s", p.Host, msg))
}

func buildSteps(in []config.Step) []build.Step {
	out := make([]build.Step, 0, len(in))
	for _, s := range in {
		out = append(out, build.Step{Name: s.Name, Run: s.Run, Env: s.Env, Inputs: s.Inputs})
	}
	return out
}
