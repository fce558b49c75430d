package api

import (
	"net/http"

	"github.com/ferrycd/ferry/internal/server"
)

// Deployment controls, the last element of POST /v1/deployments/{id}/….
const (
	ControlPromote = "promote"
	ControlAbort   = "abort"
	ControlPause   = "pause"
	ControlResume  = "resume"
)

// ControlRequest is the body of POST /v1/deployments/{id}/promote (the other
// controls take none): Full promotes straight to 100%.
type ControlRequest struct {
	Full bool `json:"full,omitempty"`
}

// ControlResponse acknowledges a control: the engine acts on it at its next
// reconcile; follow the deployment to see the effect.
type ControlResponse struct {
	Deployment int64  `json:"deployment"`
	Action     string `json:"action"`
}

// control handles POST /v1/deployments/{id}/{promote|abort|pause|resume}.
func (h *handlers) control(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			server.WriteError(w, err)
			return
		}
		var req ControlRequest
		if r.ContentLength != 0 {
			if err := server.Decode(r, &req); err != nil {
				server.WriteError(w, err)
				return
			}
		}
		if req.Full && action != ControlPromote {
			server.WriteError(w, server.Errorf(http.StatusBadRequest, "full: only a promote can be full"))
			return
		}
		if err := h.Controller.Control(r.Context(), id, action, req.Full); err != nil {
			server.WriteError(w, err)
			return
		}
		done := action
		if req.Full {
			done += " --full"
		}
		server.WriteJSON(w, http.StatusOK, ControlResponse{Deployment: id, Action: done})
	}
}
