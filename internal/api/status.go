package api

import (
	"net/http"

	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// status: GET /v1/apps/{app}/envs/{env}/status → Status, services sorted by
// name, with the app's previews.
func (h *handlers) status(w http.ResponseWriter, r *http.Request) {
	app, env := r.PathValue("app"), r.PathValue("env")
	if err := h.checkEnv(r, app, env); err != nil {
		server.WriteError(w, err)
		return
	}
	svcs, err := h.Controller.Status(r.Context(), app, env)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	if svcs == nil {
		svcs = []ServiceStatus{}
	}
	prs, err := h.Store.ListPreviews(r.Context(), store.PreviewFilter{App: app})
	if err != nil {
		server.WriteError(w, err)
		return
	}
	previews := make([]Preview, 0, len(prs))
	for _, p := range prs {
		previews = append(previews, previewDoc(p))
	}
	server.WriteJSON(w, http.StatusOK, Status{App: app, Environment: env, Services: svcs, Previews: previews})
}
