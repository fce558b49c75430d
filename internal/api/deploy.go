package api

import (
	"errors"
	"net/http"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// deploy: POST /v1/apps/{app}/envs/{env}/deploy with a DeployRequest → 201 DeployResponse.
func (h *handlers) deploy(w http.ResponseWriter, r *http.Request) {
	app, env := r.PathValue("app"), r.PathValue("env")
	var req DeployRequest
	if err := server.Decode(r, &req); err != nil {
		server.WriteError(w, err)
		return
	}
	if err := checkDeploy(app, env, req); err != nil {
		server.WriteError(w, err)
		return
	}
	res, err := h.Controller.Deploy(r.Context(), app, env, req)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	if res.Deployments == nil {
		res.Deployments = []DeploymentRef{}
	}
	server.WriteJSON(w, http.StatusCreated, res)
}

// checkDeploy refuses a request the controller could not act on, naming
// the field and value.
func checkDeploy(app, env string, req DeployRequest) error {
	bad := func(format string, args ...any) error { return server.Errorf(http.StatusBadRequest, format, args...) }
	switch {
	case !config.IsDNSLabel(app):
		return bad("app %q: not a DNS label (lower-case letters, digits and -)", app)
	case !config.IsDNSLabel(env):
		return bad("environment %q: not a DNS label (lower-case letters, digits and -)", env)
	case len(req.Services) == 0:
		return bad("services: none given; a deploy needs at least one service")
	}
	if _, err := artifact.ParseDigest(req.Artifact); err != nil {
		return bad("artifact: %v", err)
	}
	for name, s := range req.Services {
		if !config.IsDNSLabel(name) {
			return bad("services: name %q is not a DNS label", name)
		}
		if len(s.Command) == 0 {
			return bad("services.%s.command: empty", name)
		}
		if s.Count < 0 {
			return bad("services.%s.count: %d is negative", name, s.Count)
		}
	}
	return nil
}

// deployment: GET /v1/deployments/{id} → Deployment.
func (h *handlers) deployment(w http.ResponseWriter, r *http.Request) {
	d, svc, err := h.loadDeployment(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, Deployment{
		ID: d.ID, App: svc.App, Env: svc.Env, Service: svc.Name, From: d.FromRevision, To: d.ToRevision,
		Strategy: d.Strategy, State: string(d.State), Reason: d.Reason, CreatedAt: d.CreatedAt, FinishedAt: d.FinishedAt,
	})
}

func (h *handlers) loadDeployment(r *http.Request) (store.Deployment, store.Service, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Deployment{}, store.Service{}, err
	}
	d, err := h.Store.GetDeployment(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return d, store.Service{}, server.Errorf(http.StatusNotFound, "no deployment %d", id).WithHint("`ferry events` shows recent deployments")
	}
	if err != nil {
		return d, store.Service{}, err
	}
	svc, err := h.Store.GetService(r.Context(), d.ServiceID)
	return d, svc, err
}

// watch: GET /v1/deployments/{id}/watch → NDJSON Progress, one line per
// change; the last one has Done set and the deployment's final state.
func (h *handlers) watch(w http.ResponseWriter, r *http.Request) {
	d, svc, err := h.loadDeployment(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	st := server.NewStream(w, r)
	final, err := h.Controller.Watch(st.Context(), d.ID, func(p Progress) {
		p.Service = svc.Name
		_ = st.Send(p) // a gone client ends the context, and so Watch
	})
	if err != nil {
		if st.Context().Err() == nil {
			h.Logger.Warn("watch", "deployment", d.ID, "err", err)
		}
		return
	}
	final.Service, final.Done = svc.Name, true
	_ = st.Send(final)
}
