package preview

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrycd/ferry/internal/store"
)

// Destroy removes the preview of k: its tasks, routes, release directories
// and records. It is idempotent — no preview is success — and a failure
// leaves the preview destroying, which the sweeper retries until done.
func (m *Manager) Destroy(ctx context.Context, k store.PreviewKey, why string) error {
	defer m.lock(k)()
	p, err := m.cfg.Store.FindPreview(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.State != store.PreviewDestroying {
		p.State = store.PreviewDestroying
		if p, err = m.cfg.Store.UpdatePreview(ctx, p); err != nil {
			return err
		}
	}
	m.event(ctx, p, "preview.destroying", "destroying %s: %s", p.Host, why)
	return m.destroy(ctx, p)
}

// destroy takes a preview already marked destroying to its end; the caller
// holds its lock.
func (m *Manager) destroy(ctx context.Context, p store.Preview) error {
	st := m.loadState(ctx, p.ID)
	m.onDestroy(ctx, p, st)
	if err := m.cfg.Environments.Destroy(ctx, p.App, p.Env); err != nil {
		m.event(ctx, p, "preview.destroy_failed", "destroying %s failed, retried by the sweeper: %v", p.Host, err)
		return fmt.Errorf("destroying preview %s: %w", p.Host, err)
	}
	m.reportDestroyed(ctx, p, &st)
	if err := m.cfg.Store.DeleteMeta(ctx, stateKey(p.ID)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := m.cfg.Store.DeletePreview(ctx, p.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	m.event(ctx, p, "preview.destroyed", "%s destroyed", p.Host)
	return nil
}

// onDestroy runs the on_destroy hook of the commit the preview last ran,
// while its environment still exists. Anything missing (the commit, the
// artifact) skips the hook: it must not keep the preview alive.
func (m *Manager) onDestroy(ctx context.Context, p store.Preview, st state) {
	if st.Source == "" || st.Artifact == "" || p.HeadSHA == "" {
		return
	}
	dir, sha, err := m.src.fetch(ctx, st.Source, p.Branch, p.HeadSHA)
	if err != nil {
		m.event(ctx, p, "preview.hook", "on_destroy hook skipped: %v", err)
		return
	}
	def, err := m.definition(ctx, dir, sha)
	if err != nil || def.Preview.Hooks.OnDestroy == nil {
		return
	}
	_ = m.runHook(ctx, p, st.Artifact, "on_destroy", def.Preview.Hooks.OnDestroy, def.Mask)
}
