package api

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"

	"github.com/ferrycd/ferry/internal/controller"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// FromController adapts the controller to the API: documents in, documents
// out, and its errors turned into statuses (bad input 400, not found 404,
// conflict 409, an internal failure 500 saying which step failed, its cause
// logged to log).
func FromController(c *controller.Controller, st *store.Store, log *slog.Logger) Controller {
	if log == nil {
		log = slog.Default()
	}
	return &adapter{c: c, st: st, log: log}
}

type adapter struct {
	c   *controller.Controller
	st  *store.Store
	log *slog.Logger
}

// refusal turns an error of a controller call into an API error. The
// controller masks secret values out of its errors; the adapter's own
// reads of the store fail as internal errors without their detail.
func (a *adapter) refusal(err error) error {
	var se *server.Error
	if err == nil || errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *controller.Error
	if !errors.As(err, &ce) {
		ce = &controller.Error{Msg: "reading the result from the store failed", Cause: err.Error()}
		switch {
		case errors.Is(err, store.ErrNotFound):
			ce.Kind = controller.ErrNotFound
		case errors.Is(err, store.ErrConflict):
			ce.Kind = controller.ErrConflict
		}
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(ce, controller.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(ce, controller.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(ce, controller.ErrConflict):
		status = http.StatusConflict
	default:
		a.log.Error("controller", "err", ce.Error())
		return server.Errorf(status, "%s", ce.Msg).WithHint("the server log has the cause")
	}
	return server.Errorf(status, "%s", ce.Error())
}

func (a *adapter) Deploy(ctx context.Context, app, env string, req DeployRequest) (DeployResponse, error) {
	kind := store.EnvStandard
	if req.Preview {
		kind = store.EnvPreview
	}
	refs, err := a.c.Deploy(ctx, controller.DeployRequest{
		App: app, Environment: env, Runtime: req.Runtime, Services: req.Services, Secrets: req.Secrets,
		Notifications: req.Notifications, Artifact: req.Artifact, GitSHA: req.GitSHA, Message: req.Message, Kind: kind,
	})
	if err != nil {
		return DeployResponse{}, a.refusal(err)
	}
	var out DeployResponse
	for _, ref := range refs {
		dr, err := a.ref(ctx, ref)
		if err != nil {
			return out, a.refusal(err)
		}
		out.Deployments = append(out.Deployments, dr)
	}
	for _, name := range slices.Sorted(maps.Keys(req.Services)) {
		if !slices.ContainsFunc(refs, func(r controller.DeploymentRef) bool { return r.Service == name }) {
			out.Unchanged = append(out.Unchanged, name)
		}
	}
	return out, nil
}

// ref completes a controller reference with the revision moved from.
func (a *adapter) ref(ctx context.Context, r controller.DeploymentRef) (DeploymentRef, error) {
	d, err := a.st.GetDeployment(ctx, r.Deployment)
	if err != nil {
		return DeploymentRef{}, err
	}
	return DeploymentRef{ID: d.ID, Service: r.Service, From: d.FromRevision, To: d.ToRevision}, nil
}

func (a *adapter) Rollback(ctx context.Context, svc store.Service, to int) (DeploymentRef, error) {
	r, err := a.c.Rollback(ctx, svc.ID, to)
	if err != nil {
		return DeploymentRef{}, a.refusal(err)
	}
	ref, err := a.ref(ctx, r)
	return ref, a.refusal(err)
}

func (a *adapter) Scale(ctx context.Context, svc store.Service, count int) error {
	return a.refusal(a.c.Scale(ctx, svc.ID, count))
}

func (a *adapter) Restart(ctx context.Context, svc store.Service, req RestartRequest) (DeploymentRef, error) {
	r, err := a.c.Restart(ctx, svc.ID, req.MinHealthyPercent, req.Warmup)
	if err != nil {
		return DeploymentRef{}, a.refusal(err)
	}
	ref, err := a.ref(ctx, r)
	return ref, a.refusal(err)
}

func (a *adapter) Status(ctx context.Context, app, env string) ([]ServiceStatus, error) {
	svcs, err := a.c.Status(ctx, app, env)
	if err != nil {
		return nil, a.refusal(err)
	}
	out := make([]ServiceStatus, 0, len(svcs))
	for _, s := range svcs {
		ss := serviceStatus(s)
		// The controller's view lacks the scale override and the
		// deployment's number; the service's rows have them.
		row, err := a.st.GetService(ctx, s.ServiceID)
		if err != nil {
			return nil, a.refusal(err)
		}
		ss.Scaled = row.ScaledCount != nil
		if ss.Deployment != nil {
			d, err := a.st.LatestDeployment(ctx, s.ServiceID)
			if err != nil {
				return nil, a.refusal(err)
			}
			ss.Deployment.Deployment = d.ID
			if d.State.Terminal() {
				ss.Deployment.State, ss.Deployment.Reason, ss.Deployment.Done = string(d.State), d.Reason, true
			}
		}
		out = append(out, ss)
	}
	slices.SortFunc(out, func(x, y ServiceStatus) int {
		if x.Name < y.Name {
			return -1
		}
		if x.Name > y.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

// crashLoopState is the service state the controller records while a
// service's tasks crash-loop.
const crashLoopState = "crash_loop"

func serviceStatus(s controller.ServiceStatus) ServiceStatus {
	ss := ServiceStatus{
		Name: s.Service, LiveRevision: s.Live, Desired: s.Count, State: s.State, Message: s.Message,
		CrashLoop: s.State == crashLoopState, Tasks: []TaskStatus{},
	}
	for _, t := range s.Tasks {
		if t.State == string(deploy.TaskHealthy) {
			ss.Healthy++
		}
		ss.Tasks = append(ss.Tasks, TaskStatus{ID: t.ID, Revision: t.Revision, State: t.State, Addr: t.Addr,
			StartedAt: t.StartedAt, LastError: t.LastError})
	}
	if s.Deployment != nil {
		p := progress(*s.Deployment)
		p.Service = s.Service
		ss.Deployment = &p
	}
	return ss
}

func (a *adapter) Watch(ctx context.Context, id int64, fn func(Progress)) (Progress, error) {
	var last Progress
	err := a.c.WaitDeployment(ctx, id, func(p deploy.Progress) {
		last = progress(p)
		last.Deployment = id
		fn(last)
	})
	var de *controller.DeploymentError
	switch {
	case err == nil:
		last.State, last.Reason = StateSucceeded, ""
	case errors.As(err, &de):
		last.State, last.Reason = de.State, de.Reason
	default:
		return last, err
	}
	last.Deployment = id
	return last, nil
}

func (a *adapter) Control(ctx context.Context, id int64, action string, full bool) error {
	op := controller.ControlOp(action)
	if full {
		op = controller.ControlPromoteFull
	}
	return a.refusal(a.c.Control(ctx, id, op))
}

func (a *adapter) StopAll(ctx context.Context) ([]string, error) {
	ids, err := a.c.StopAll(ctx)
	return ids, a.refusal(err)
}

// progress is the engine's summary as a document.
func progress(p deploy.Progress) Progress {
	return Progress{
		Kind: string(p.Kind), Strategy: string(p.Strategy), State: string(p.State), Reason: p.Reason,
		From: p.From, To: p.To, Target: p.Target, Count: p.Count, Batch: p.Batch, Batches: p.Batches,
		NewHealthy: p.NewHealthy, NewTotal: p.NewTotal, Old: p.Old, Failures: p.Failures, Threshold: p.Threshold,
		Step: p.Step, Steps: p.Steps, Weights: p.Weights, Hold: p.Hold, Analysis: analysis(p.Analysis),
	}
}

func analysis(a deploy.AnalysisStatus) *Analysis {
	if a.Checks == 0 {
		return nil
	}
	out := &Analysis{Group: a.Group, Checks: a.Checks, Failures: a.Failures, Verdict: string(a.Verdict), Reason: a.Reason,
		Requests: a.Last.Requests, P99Ms: float64(a.Last.P99) / 1e6}
	if a.Last.Requests > 0 {
		out.ErrorRate = float64(a.Last.Errors) * 100 / float64(a.Last.Requests)
	}
	return out
}
