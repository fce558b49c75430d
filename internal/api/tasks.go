package api

import (
	"net/http"

	"github.com/ferrycd/ferry/internal/server"
)

// stopAll: DELETE /v1/tasks → StoppedTasks. `ferry down --all` calls it
// before stopping the daemons; desired state is kept, so the next server
// start brings the tasks back.
func (h *handlers) stopAll(w http.ResponseWriter, r *http.Request) {
	ids, err := h.Controller.StopAll(r.Context())
	if err != nil {
		server.WriteError(w, err)
		return
	}
	if ids == nil {
		ids = []string{}
	}
	server.WriteJSON(w, http.StatusOK, StoppedTasks{Stopped: ids})
}
