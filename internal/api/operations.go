package api

import (
	"net/http"

	"github.com/ferrycd/ferry/internal/server"
)

// rollback: POST .../services/{service}/rollback with a RollbackRequest →
// 201 DeploymentRef.
func (h *handlers) rollback(w http.ResponseWriter, r *http.Request) {
	svc, err := h.service(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	var req RollbackRequest
	if err := server.Decode(r, &req); err != nil {
		server.WriteError(w, err)
		return
	}
	if req.To < 0 {
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "to: %d is not a revision number", req.To))
		return
	}
	ref, err := h.Controller.Rollback(r.Context(), svc, req.To)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusCreated, ref)
}

// scale: POST .../services/{service}/scale with a ScaleRequest → ScaleResponse.
func (h *handlers) scale(w http.ResponseWriter, r *http.Request) {
	svc, err := h.service(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	var req ScaleRequest
	if err := server.Decode(r, &req); err != nil {
		server.WriteError(w, err)
		return
	}
	if req.Count < 0 || req.Count > MaxCount {
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "count: %d is out of range 0..%d", req.Count, MaxCount))
		return
	}
	if err := h.Controller.Scale(r.Context(), svc, req.Count); err != nil {
		server.WriteError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, ScaleResponse{Service: svc.Name, From: svc.Count(), Count: req.Count})
}

// MaxCount bounds a service's task count: beyond it a typo, not a plan.
const MaxCount = 1000

// restart: POST .../services/{service}/restart with a RestartRequest → 201
// DeploymentRef.
func (h *handlers) restart(w http.ResponseWriter, r *http.Request) {
	svc, err := h.service(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	var req RestartRequest
	if err := server.Decode(r, &req); err != nil {
		server.WriteError(w, err)
		return
	}
	if req.MinHealthyPercent < 0 || req.MinHealthyPercent > 100 {
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "min_healthy_percent: %d is out of range 0..100", req.MinHealthyPercent))
		return
	}
	if req.Warmup < 0 {
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "warmup: %s is negative", req.Warmup))
		return
	}
	if svc.LiveRevision == 0 {
		server.WriteError(w, server.Errorf(http.StatusConflict, "service %s has no live revision to restart", svc.Name).
			WithHint("wait for its first deployment to succeed"))
		return
	}
	ref, err := h.Controller.Restart(r.Context(), svc, req)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusCreated, ref)
}
