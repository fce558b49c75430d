package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// Controller is what the API needs of the control loop: the calls that
// change desired state, and a deployment's progress. The server wires the
// controller package to it.
type Controller interface {
	// Deploy records a revision and a deployment for every service of req
	// whose spec or artifact changed, and returns those deployments.
	Deploy(ctx context.Context, app, env string, req DeployRequest) (DeployResponse, error)
	// Rollback deploys revision to (0: the one before the live one) again.
	Rollback(ctx context.Context, svc store.Service, to int) (DeploymentRef, error)
	// Scale sets the service's count until the file's count changes.
	Scale(ctx context.Context, svc store.Service, count int) error
	// Restart replaces every task of the service with the same revision.
	Restart(ctx context.Context, svc store.Service, req RestartRequest) (DeploymentRef, error)
	// Status reports every service of app in env, with its latest
	// deployment summarised.
	Status(ctx context.Context, app, env string) ([]ServiceStatus, error)
	// Watch calls progress whenever deployment id changes, until it ends,
	// and returns its last progress with State and Reason final.
	Watch(ctx context.Context, id int64, progress func(Progress)) (Progress, error)
	// Control asks deployment id to promote (full: to 100%), abort, pause or
	// resume.
	Control(ctx context.Context, id int64, action string, full bool) error
	// StopAll stops the control loop and every task, each in the usual
	// order (deregister, drain, pre-stop, signal), and keeps desired state
	// so the next server start brings them back.
	StopAll(ctx context.Context) ([]string, error)
}

// Deps are the parts the handlers use; all are required but Logger.
type Deps struct {
	Store      *store.Store
	Controller Controller
	Driver     runtime.Driver
	// Drivers are further runtimes by name; a task's row says which runs it.
	Drivers map[string]runtime.Driver
	Logger  *slog.Logger
	// Poll is how often the event stream re-reads the trace when nothing
	// wakes it (events appended by another process); 0 means 250ms.
	Poll time.Duration
}

type handlers struct {
	Deps
}

// Register adds the domain API's endpoints to srv.
func Register(srv *server.Server, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Poll <= 0 {
		d.Poll = 250 * time.Millisecond
	}
	h := &handlers{d}
	const svc = "/v1/apps/{app}/envs/{env}/services/{service}"
	srv.HandleFunc("POST /v1/apps/{app}/envs/{env}/deploy", h.deploy)
	srv.HandleFunc("GET /v1/apps/{app}/envs/{env}/status", h.status)
	srv.HandleFunc("GET /v1/deployments/{id}", h.deployment)
	srv.HandleFunc("GET /v1/deployments/{id}/watch", h.watch)
	for _, a := range []string{ControlPromote, ControlAbort, ControlPause, ControlResume} {
		srv.HandleFunc("POST /v1/deployments/{id}/"+a, h.control(a))
	}
	srv.HandleFunc("GET "+svc+"/revisions", h.revisions)
	srv.HandleFunc("GET "+svc+"/revisions/{n}", h.revision)
	srv.HandleFunc("POST "+svc+"/rollback", h.rollback)
	srv.HandleFunc("POST "+svc+"/scale", h.scale)
	srv.HandleFunc("POST "+svc+"/restart", h.restart)
	srv.HandleFunc("GET "+svc+"/logs", h.logs)
	srv.Handle("POST "+svc+"/exec", server.ExecHandler(h.resolveExec))
	srv.HandleFunc("GET /v1/events", h.events)
	srv.HandleFunc("DELETE /v1/tasks", h.stopAll)
}

// driverOf is the driver that runs task t.
func (h *handlers) driverOf(t store.Task) runtime.Driver {
	if d, ok := h.Drivers[t.Driver]; ok && d != nil {
		return d
	}
	return h.Driver
}
