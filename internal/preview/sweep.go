package preview

import (
	"context"
	"errors"
	"time"

	"github.com/ferrycd/ferry/internal/store"
)

// doom is a preview the sweeper destroys, and why.
type doom struct {
	Key    store.PreviewKey
	Reason string
}

// sweepPlan decides which previews go: those left destroying (a destroy
// to finish), those whose TTL since the last push ran out, and pull-request
// previews of a repository whose open pull requests are known (open has
// an entry for it) that are not among them — their close event was lost.
func sweepPlan(previews []store.Preview, now time.Time, open map[string]map[int]bool) []doom {
	var out []doom
	for _, p := range previews {
		k := keyOf(p)
		switch {
		case p.State == store.PreviewDestroying:
			out = append(out, doom{k, "finishing an interrupted destroy"})
		case !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt):
			out = append(out, doom{k, "no push since " + p.LastPushAt.UTC().Format(time.RFC3339) + ": its TTL ran out"})
		case p.PR > 0 && open[p.Repo] != nil && !open[p.Repo][p.PR]:
			out = append(out, doom{k, "its pull request is no longer open"})
		}
	}
	return out
}

// Sweep destroys the previews sweepPlan picks, asking the Reporter for the
// open pull requests of every repository with pull-request previews. It
// returns how many it destroyed and the first error (the rest still run).
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	all, err := m.cfg.Store.ListPreviews(ctx, store.PreviewFilter{})
	if err != nil {
		return 0, err
	}
	var open map[string]map[int]bool
	var firstErr error
	if m.cfg.Reporter != nil {
		open = map[string]map[int]bool{}
		for _, p := range all {
			if p.PR == 0 || open[p.Repo] != nil {
				continue
			}
			nums, err := m.cfg.Reporter.OpenPulls(ctx, p.Repo)
			if err != nil {
				m.log.Warn("sweep: listing open pull requests", "repo", p.Repo, "err", err)
				continue // unknown: keep its previews rather than guess
			}
			set := map[int]bool{}
			for _, n := range nums {
				set[n] = true
			}
			open[p.Repo] = set
		}
	}
	n := 0
	for _, d := range sweepPlan(all, m.now(), open) {
		err := m.Destroy(ctx, d.Key, d.Reason)
		if err == nil {
			n++
			continue
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return n, firstErr
}

// resumeCreates finishes the previews left creating: a create runs within
// the request or delivery that asked for it, so at start one in that state
// was cut short (the server was killed) and nothing else would ever settle
// it. Each is built and deployed again at the commit it was created for;
// a request racing with this waits on the preview's lock and then finds it
// done.
func (m *Manager) resumeCreates(ctx context.Context) {
	all, err := m.cfg.Store.ListPreviews(ctx, store.PreviewFilter{})
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("resuming interrupted preview creates", "err", err)
		}
		return
	}
	for _, p := range all {
		if p.State != store.PreviewCreating || ctx.Err() != nil {
			continue
		}
		m.event(ctx, p, "preview.resumed", "resuming %s at %.12s: the server stopped while creating it", p.Host, p.HeadSHA)
		c := Change{Repo: p.Repo, Source: m.loadState(ctx, p.ID).Source, PR: p.PR, Branch: p.Branch, SHA: p.HeadSHA}
		_, err := m.Upsert(ctx, c)
		if err == nil || ctx.Err() != nil {
			continue
		}
		m.log.Warn("resuming an interrupted preview create", "preview", p.Host, "err", err)
		// Failing before the build (the branch is gone, say) leaves the
		// row as it was: settle it, so it is not creating forever.
		if cur, ferr := m.cfg.Store.FindPreview(ctx, keyOf(p)); ferr == nil && cur.State == store.PreviewCreating {
			cur.State = store.PreviewFailed
			if _, uerr := m.cfg.Store.UpdatePreview(ctx, cur); uerr == nil {
				m.event(ctx, cur, "preview.failed", "resuming the create failed: %s", err)
			}
		}
	}
}

// keepDeliveries is how long a processed delivery is remembered, so a
// redelivery of it is recognised and not acted on twice.
const keepDeliveries = 30 * 24 * time.Hour

// Run resumes the creates a stopped server left unfinished, drains the
// delivery queue and sweeps every SweepEvery until ctx ends. Call it once,
// at start.
func (m *Manager) Run(ctx context.Context) error {
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		m.resumeCreates(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		m.drain(ctx)
	}()
	t := time.NewTicker(m.cfg.SweepEvery)
	defer t.Stop()
	for {
		if _, err := m.Sweep(ctx); err != nil && !errors.Is(err, context.Canceled) {
			m.log.Warn("preview sweep", "err", err)
		}
		if _, err := m.cfg.Store.DeleteDeliveriesBefore(ctx, time.Now().Add(-keepDeliveries)); err != nil && ctx.Err() == nil {
			m.log.Warn("forgetting old deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			<-done
			<-done
			return nil
		case <-t.C:
		}
	}
}
