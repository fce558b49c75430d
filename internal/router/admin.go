package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// AdminHandler serves the admin API (HTTP/JSON, meant for a unix socket).
// Service, group and target names travel as query parameters because
// service names contain slashes. Errors are {"error": "..."} with 400, 404
// 409, 503 (a restart in progress: retry), or 507 (the disk is full) and
// 500 (another failure) when the state file could not be written: the
// change was not applied.
func (rt *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]bool{"ok": true}, nil) })
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) { reply(w, rt.Services(), nil) })
	mux.HandleFunc("GET /v1/service", func(w http.ResponseWriter, r *http.Request) {
		st, err := rt.Service(r.URL.Query().Get("service"))
		reply(w, st, err)
	})
	mux.HandleFunc("GET /v1/health/changes", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, err := strconv.ParseUint(q.Get("since"), 10, 64)
		if err != nil {
			reply(w, nil, errf(ErrInvalid, "since %q: not a version (a number a previous reply gave)", q.Get("since")))
			return
		}
		var wait time.Duration
		if s := q.Get("wait"); s != "" {
			if wait, err = time.ParseDuration(s); err != nil || wait < 0 || wait > maxHealthWait {
				reply(w, nil, errf(ErrInvalid, "wait %q: not a duration from 0 to %s", s, maxHealthWait))
				return
			}
		}
		reply(w, rt.HealthChanges(r.Context(), since, wait), nil)
	})
	mux.HandleFunc("PUT /v1/service", func(w http.ResponseWriter, r *http.Request) {
		var s api.Service
		if decode(w, r, &s) {
			reply(w, nil, rt.PutService(s))
		}
	})
	mux.HandleFunc("DELETE /v1/service", func(w http.ResponseWriter, r *http.Request) {
		res, err := rt.DeleteService(r.URL.Query().Get("service"))
		reply(w, res, err)
	})
	mux.HandleFunc("PUT /v1/targets", func(w http.ResponseWriter, r *http.Request) {
		var ts []api.Target
		if decode(w, r, &ts) {
			q := r.URL.Query()
			res, err := rt.SetTargets(q.Get("service"), q.Get("group"), ts)
			reply(w, res, err)
		}
	})
	mux.HandleFunc("POST /v1/target", func(w http.ResponseWriter, r *http.Request) {
		var t api.Target
		if decode(w, r, &t) {
			q := r.URL.Query()
			reply(w, nil, rt.AddTarget(q.Get("service"), q.Get("group"), t))
		}
	})
	mux.HandleFunc("DELETE /v1/target", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		res, err := rt.RemoveTarget(q.Get("service"), q.Get("group"), q.Get("target"))
		reply(w, res, err)
	})
	mux.HandleFunc("DELETE /v1/group", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		res, err := rt.RemoveGroup(q.Get("service"), q.Get("group"))
		reply(w, res, err)
	})
	mux.HandleFunc("PUT /v1/weights", func(w http.ResponseWriter, r *http.Request) {
		var ws map[string]int
		if decode(w, r, &ws) {
			reply(w, nil, rt.SetWeights(r.URL.Query().Get("service"), ws))
		}
	})
	mux.HandleFunc("GET /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var window time.Duration
		if s := q.Get("window"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				reply(w, nil, errf(ErrInvalid, "window %q: not a positive duration like 30s", s))
				return
			}
			window = d
		}
		m, err := rt.Metrics(q.Get("service"), q.Get("group"), window)
		reply(w, m, err)
	})
	mux.HandleFunc("POST /v1/metrics/reset", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		reply(w, nil, rt.ResetMetrics(q.Get("service"), q.Get("group")))
	})
	return mux
}

// maxHealthWait bounds a health-changes long poll.
const maxHealthWait = 5 * time.Minute

// decode reads a JSON body (at most 1 MiB, unknown fields rejected).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		reply(w, nil, errf(ErrInvalid, "request body: %v", err))
		return false
	}
	return true
}

// ErrorBody is the admin API's error document.
type ErrorBody struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(errorStatus(err))
		json.NewEncoder(w).Encode(ErrorBody{Error: err.Error()})
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(w)
	}
}

// errorStatus is the HTTP status of an admin error.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrHandingOver):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrStorage) && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)):
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}
