package preview

import (
	"context"
	"fmt"

	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/store"
)

// Reporting is best effort: GitHub being down must not fail a preview, so
// errors are logged and the preview goes on.

func (m *Manager) reports(p store.Preview) bool { return m.cfg.Reporter != nil && p.PR > 0 }

// reportStart creates the preview's GitHub deployment for this commit and
// marks it in progress.
func (m *Manager) reportStart(ctx context.Context, p store.Preview, st *state) {
	if m.reports(p) {
		id, err := m.cfg.Reporter.CreateDeployment(ctx, p.Repo, p.HeadSHA, p.Env, "ferry preview of "+p.Branch)
		if err != nil {
			m.log.Warn("github deployment", "preview", p.Host, "err", err)
		} else {
			st.Deployment = id
			m.setStatus(ctx, p, st, github.StateInProgress, "", "")
		}
	}
	if err := m.saveState(ctx, p.ID, *st); err != nil {
		m.log.Warn("preview state", "preview", p.Host, "err", err)
	}
}

func (m *Manager) reportDone(ctx context.Context, p store.Preview, st *state) {
	if !m.reports(p) {
		return
	}
	m.setStatus(ctx, p, st, github.StateSuccess, p.URL, "")
	m.comment(ctx, p, st, fmt.Sprintf("Preview of `%s` at %.12s is live: %s", p.Branch, p.HeadSHA, p.URL))
}

func (m *Manager) reportFailed(ctx context.Context, p store.Preview, st *state) {
	if !m.reports(p) {
		return
	}
	logURL := ""
	if m.cfg.LogURL != nil {
		logURL = m.cfg.LogURL(p)
	}
	m.setStatus(ctx, p, st, github.StateFailure, "", logURL)
	body := fmt.Sprintf("Preview of `%s` at %.12s failed.", p.Branch, p.HeadSHA)
	if logURL != "" {
		body += " Log: " + logURL
	}
	m.comment(ctx, p, st, body)
}

func (m *Manager) reportDestroyed(ctx context.Context, p store.Preview, st *state) {
	if !m.reports(p) {
		return
	}
	m.setStatus(ctx, p, st, github.StateInactive, "", "")
	m.comment(ctx, p, st, fmt.Sprintf("Preview of `%s` was destroyed.", p.Branch))
}

func (m *Manager) setStatus(ctx context.Context, p store.Preview, st *state, s, envURL, logURL string) {
	if st.Deployment == 0 {
		return
	}
	if err := m.cfg.Reporter.SetDeploymentStatus(ctx, p.Repo, st.Deployment, s, envURL, logURL); err != nil {
		m.log.Warn("github deployment status", "preview", p.Host, "state", s, "err", err)
	}
}

// comment keeps the preview's one PR comment up to date.
func (m *Manager) comment(ctx context.Context, p store.Preview, st *state, body string) {
	id, err := m.cfg.Reporter.UpsertComment(ctx, p.Repo, p.PR, st.Comment, "**ferry** · "+body)
	if err != nil {
		m.log.Warn("github comment", "preview", p.Host, "err", err)
		return
	}
	if id != st.Comment {
		st.Comment = id
		if err := m.saveState(ctx, p.ID, *st); err != nil {
			m.log.Warn("preview state", "preview", p.Host, "err", err)
		}
	}
}
