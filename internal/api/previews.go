package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/preview"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// PreviewsPath lists (GET), creates (POST) and destroys (DELETE with
// ?repo=&branch=) previews; add "/{name}" to destroy one by name.
const PreviewsPath = "/v1/previews"

// DeliveriesPath lists the webhook deliveries received last.
const DeliveriesPath = "/v1/deliveries"

// PreviewPath is one preview by slug, environment or host.
func PreviewPath(name string) string { return PreviewsPath + "/" + url.PathEscape(name) }

// Preview is a preview environment as the API shows it.
type Preview struct {
	ID         int64     `json:"id"`
	App        string    `json:"app"`
	Repo       string    `json:"repo"`
	PR         int       `json:"pr,omitempty"`
	Branch     string    `json:"branch"`
	Slug       string    `json:"slug"`
	Env        string    `json:"env"`
	Host       string    `json:"host"`
	State      string    `json:"state"`
	HeadSHA    string    `json:"head_sha"`
	URL        string    `json:"url,omitempty"`
	LastPushAt time.Time `json:"last_push_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
}

// PreviewRequest asks for the preview of a branch of a repository the
// server can read: a local path (or a configured owner/name).
type PreviewRequest struct {
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	SHA    string `json:"sha,omitempty"` // "" = the branch's head
}

func previewDoc(p store.Preview) Preview {
	return Preview{
		ID: p.ID, App: p.App, Repo: p.Repo, PR: p.PR, Branch: p.Branch, Slug: p.Slug, Env: p.Env, Host: p.Host,
		State: string(p.State), HeadSHA: p.HeadSHA, URL: p.URL, LastPushAt: p.LastPushAt, ExpiresAt: p.ExpiresAt,
		CreatedAt: p.CreatedAt,
	}
}

// PreviewEnvironments adapts the controller to what previews need: a
// deploy that returns once live (following each deployment with Watch) and
// an environment's destruction.
func PreviewEnvironments(c Controller, destroy func(ctx context.Context, app, env string) error) preview.Environments {
	return &previewEnvs{c: c, destroy: destroy}
}

type previewEnvs struct {
	c       Controller
	destroy func(ctx context.Context, app, env string) error
}

func (e *previewEnvs) Deploy(ctx context.Context, req preview.Deploy) error {
	res, err := e.c.Deploy(ctx, req.App, req.Environment, DeployRequest{
		Runtime: req.Runtime, Services: req.Services, Secrets: req.Secrets, Artifact: req.Artifact,
		GitSHA: req.GitSHA, Message: req.Message, Preview: true,
	})
	if err != nil {
		return err
	}
	for _, d := range res.Deployments {
		final, err := e.c.Watch(ctx, d.ID, func(Progress) {})
		if err != nil {
			return err
		}
		if final.State != StateSucceeded {
			return fmt.Errorf("service %s: deployment %d %s: %s", d.Service, d.ID, final.State, final.Reason)
		}
	}
	return nil
}

func (e *previewEnvs) Destroy(ctx context.Context, app, env string) error {
	return e.destroy(ctx, app, env)
}

// RegisterPreviews adds the preview endpoints to srv.
func RegisterPreviews(srv *server.Server, st *store.Store, m *preview.Manager, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	h := &previewHandlers{st: st, m: m, log: log}
	srv.HandleFunc("GET "+PreviewsPath, h.list)
	srv.HandleFunc("POST "+PreviewsPath, h.create)
	srv.HandleFunc("DELETE "+PreviewsPath, h.destroyBranch)
	srv.HandleFunc("DELETE "+PreviewsPath+"/{name}", h.destroy)
	srv.HandleFunc("GET "+DeliveriesPath, h.deliveries)
}

// Delivery is one webhook delivery as the queue holds it: what it asked
// for, and what became of it.
type Delivery struct {
	ID       string `json:"id"` // GitHub's X-GitHub-Delivery
	Event    string `json:"event"`
	Summary  string `json:"summary"` // e.g. "pull_request opened acme/shop#7 (feature/login)"
	State    string `json:"state"`   // queued, done or failed
	Attempts int    `json:"attempts"`
	// NextAttempt is when a queued delivery is tried (again).
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Error       string    `json:"error,omitempty"` // the last attempt's
	Received    time.Time `json:"received"`
}

// deliveries: GET /v1/deliveries[?limit=N] → the N (default 50) deliveries
// received last, newest first: what a user looks at when a pull request's
// preview does not come.
func (h *previewHandlers) deliveries(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", 1)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	if limit == 0 {
		limit = 50
	}
	ds, err := h.st.RecentDeliveries(r.Context(), int(limit))
	if err != nil {
		server.WriteError(w, err)
		return
	}
	out := make([]Delivery, 0, len(ds))
	for _, d := range ds {
		doc := Delivery{ID: d.DeliveryID, Event: d.Event, Summary: deliverySummary(d), State: string(d.State),
			Attempts: d.Attempts, Error: d.Error, Received: d.CreatedAt}
		if d.State == store.DeliveryQueued {
			doc.NextAttempt = d.NextAttemptAt
		}
		out = append(out, doc)
	}
	server.WriteJSON(w, http.StatusOK, out)
}

// deliverySummary says in a line what a delivery asked for.
func deliverySummary(d store.Delivery) string {
	ev, err := github.Parse(d.Event, d.Payload)
	switch {
	case err != nil:
		return "unreadable payload"
	case ev.Kind == github.KindPullRequest:
		return fmt.Sprintf("%s %s#%d (%s at %.12s)", ev.Action, ev.Repo, ev.PR, ev.Branch, ev.SHA)
	case ev.Kind == github.KindPush && ev.Deleted:
		return fmt.Sprintf("branch %s of %s deleted", ev.Branch, ev.Repo)
	case ev.Kind == github.KindPush && ev.Branch != "":
		return fmt.Sprintf("push to %s of %s at %.12s", ev.Branch, ev.Repo, ev.SHA)
	}
	return ev.Kind
}

type previewHandlers struct {
	st  *store.Store
	m   *preview.Manager
	log *slog.Logger
}

// list: GET /v1/previews[?repo=] → []Preview, oldest first.
func (h *previewHandlers) list(w http.ResponseWriter, r *http.Request) {
	all, err := h.st.ListPreviews(r.Context(), store.PreviewFilter{})
	if err != nil {
		server.WriteError(w, err)
		return
	}
	out := []Preview{}
	repo := r.URL.Query().Get("repo")
	for _, p := range all {
		if repo == "" || p.Repo == repo {
			out = append(out, previewDoc(p))
		}
	}
	server.WriteJSON(w, http.StatusOK, out)
}

// create: POST /v1/previews with a PreviewRequest → 200 Preview once it
// answers; 422 when it failed (its state and trace say why).
func (h *previewHandlers) create(w http.ResponseWriter, r *http.Request) {
	var req PreviewRequest
	if err := server.Decode(r, &req); err != nil {
		server.WriteError(w, err)
		return
	}
	switch {
	case req.Repo == "":
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "repo: empty; give a local repository path"))
		return
	case req.Branch == "":
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "branch: empty"))
		return
	}
	c := preview.Change{Repo: req.Repo, Branch: req.Branch, SHA: req.SHA}
	if filepath.IsAbs(req.Repo) {
		c.Source = req.Repo
	}
	p, err := h.m.Upsert(r.Context(), c)
	if err != nil {
		status := http.StatusInternalServerError
		if preview.IsPermanent(err) {
			status = http.StatusUnprocessableEntity
		}
		h.log.Warn("preview", "repo", req.Repo, "branch", req.Branch, "err", err)
		server.WriteError(w, server.Errorf(status, "%v", err))
		return
	}
	server.WriteJSON(w, http.StatusOK, previewDoc(p))
}

// destroy: DELETE /v1/previews/{name} (slug, environment or host) → 204.
func (h *previewHandlers) destroy(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	all, err := h.st.ListPreviews(r.Context(), store.PreviewFilter{})
	if err != nil {
		server.WriteError(w, err)
		return
	}
	for _, p := range all {
		if p.Slug == name || p.Env == name || p.Host == name {
			h.finish(w, r, store.PreviewKey{Repo: p.Repo, PR: p.PR, Branch: p.Branch})
			return
		}
	}
	server.WriteError(w, server.Errorf(http.StatusNotFound, "no preview named %q", name).WithHint("`ferry preview list` shows them"))
}

// destroyBranch: DELETE /v1/previews?repo=&branch= → 204, also when there
// is no such preview (destroying is idempotent).
func (h *previewHandlers) destroyBranch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("repo") == "" || q.Get("branch") == "" {
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "repo and branch query parameters are required"))
		return
	}
	h.finish(w, r, store.PreviewKey{Repo: q.Get("repo"), Branch: q.Get("branch")})
}

func (h *previewHandlers) finish(w http.ResponseWriter, r *http.Request, k store.PreviewKey) {
	if err := h.m.Destroy(r.Context(), k, "destroyed through the API"); err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		h.log.Warn("preview destroy", "repo", k.Repo, "branch", k.Branch, "pr", k.PR, "err", err)
		server.WriteError(w, server.Errorf(http.StatusInternalServerError, "%v", err).WithHint("the sweeper retries it"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
