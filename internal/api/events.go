package api

import (
	"net/http"
	"time"

	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// eventsPage bounds one read of the trace.
const eventsPage = 500

// events: GET /v1/events?app=&env=&service=&deployment=&task=&since=ID&tail=N&follow=true
// → NDJSON Event, in ID (= time) order. With follow it keeps sending new
// events until the client goes away.
func (h *handlers) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.EventFilter{App: q.Get("app"), Env: q.Get("env"), Service: q.Get("service"), Task: q.Get("task")}
	var err error
	if f.Deployment, err = intParam(r, "deployment", 1); err != nil {
		server.WriteError(w, err)
		return
	}
	if f.SinceID, err = intParam(r, "since", 0); err != nil {
		server.WriteError(w, err)
		return
	}
	tail, err := intParam(r, "tail", 0)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	follow, err := boolParam(r, "follow")
	if err != nil {
		server.WriteError(w, err)
		return
	}
	if f.Deployment != 0 {
		if _, err := h.Store.GetDeployment(r.Context(), f.Deployment); err != nil {
			server.WriteError(w, server.Errorf(http.StatusNotFound, "no deployment %d", f.Deployment))
			return
		}
	}
	wake, cancel := h.Store.Subscribe()
	defer cancel()
	st := server.NewStream(w, r)
	tick := time.NewTicker(h.Poll)
	defer tick.Stop()
	first := true
	for {
		page := f
		page.Limit = eventsPage
		if first && tail > 0 {
			page.Limit, page.Newest = int(tail), true
		}
		evs, err := h.Store.ListEvents(st.Context(), page)
		if err != nil {
			if st.Context().Err() == nil {
				h.Logger.Warn("events: list", "err", err)
			}
			return
		}
		for _, e := range evs {
			if st.Send(event(e)) != nil {
				return
			}
			f.SinceID = e.ID
		}
		if len(evs) == page.Limit && !(first && tail > 0) {
			continue // more to read at once
		}
		first = false
		if !follow {
			return
		}
		select {
		case <-st.Context().Done():
			return
		case <-wake:
		case <-tick.C: // events appended by another process do not wake us
		}
	}
}

func event(e store.Event) Event {
	return Event{
		ID: e.ID, Time: e.Time, App: e.App, Env: e.Env, Service: e.Service, Deployment: e.Deployment,
		Task: e.Task, Type: e.Type, Message: e.Message, Fields: e.Fields,
	}
}
