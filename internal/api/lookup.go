package api

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// service resolves {app}/{env}/{service} of r, or answers 404 naming what is
// known instead.
func (h *handlers) service(r *http.Request) (store.Service, error) {
	app, env, name := r.PathValue("app"), r.PathValue("env"), r.PathValue("service")
	svc, err := h.Store.FindService(r.Context(), app, env, name)
	if err == nil {
		return svc, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Service{}, err
	}
	if err := h.checkEnv(r, app, env); err != nil {
		return store.Service{}, err
	}
	all, err := h.Store.ListServices(r.Context(), store.ServiceFilter{App: app, Env: env})
	if err != nil {
		return store.Service{}, err
	}
	names := make([]string, 0, len(all))
	for _, s := range all {
		names = append(names, s.Name)
	}
	return store.Service{}, server.Errorf(http.StatusNotFound, "no service %q in %s/%s (services: %s)", name, app, env, list(names)).
		WithHint("`ferry status` lists the services; a new service appears with its first `ferry deploy`")
}

// checkEnv answers 404 when app or env has never been deployed.
func (h *handlers) checkEnv(r *http.Request, app, env string) error {
	if _, err := h.Store.GetApp(r.Context(), app); errors.Is(err, store.ErrNotFound) {
		apps, err := h.Store.ListApps(r.Context())
		if err != nil {
			return err
		}
		names := make([]string, 0, len(apps))
		for _, a := range apps {
			names = append(names, a.Name)
		}
		return server.Errorf(http.StatusNotFound, "no app %q has been deployed (apps: %s)", app, list(names)).
			WithHint("deploy it first with `ferry deploy`, or name another with --app")
	} else if err != nil {
		return err
	}
	if _, err := h.Store.GetEnvironment(r.Context(), app, env); errors.Is(err, store.ErrNotFound) {
		envs, err := h.Store.ListEnvironments(r.Context(), app)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(envs))
		for _, e := range envs {
			names = append(names, e.Name)
		}
		return server.Errorf(http.StatusNotFound, "app %q has no environment %q (environments: %s)", app, env, list(names)).
			WithHint("choose one with --env")
	} else if err != nil {
		return err
	}
	return nil
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// intParam reads an optional integer query parameter, at least min.
func intParam(r *http.Request, name string, min int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, server.Errorf(http.StatusBadRequest, "query parameter %s=%q: want an integer ≥ %d", name, v, min)
	}
	return n, nil
}

// boolParam reads an optional boolean query parameter ("1", "true").
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, server.Errorf(http.StatusBadRequest, "query parameter %s=%q: want true or false", name, v)
	}
	return b, nil
}

// pathID reads the {id} path value.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, server.Errorf(http.StatusBadRequest, "%s %q: want a positive integer", name, v)
	}
	return n, nil
}
