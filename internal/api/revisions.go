package api

import (
	"errors"
	"net/http"

	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// revisions: GET .../services/{service}/revisions?limit=N → []Revision,
// newest first, without specs.
func (h *handlers) revisions(w http.ResponseWriter, r *http.Request) {
	svc, err := h.service(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	revs, err := h.Store.ListRevisions(r.Context(), svc.ID, int(limit))
	if err != nil {
		server.WriteError(w, err)
		return
	}
	out := make([]Revision, 0, len(revs))
	for _, rv := range revs {
		out = append(out, revision(rv, svc, false))
	}
	server.WriteJSON(w, http.StatusOK, out)
}

// revision: GET .../services/{service}/revisions/{n} → Revision with its
// masked spec; n "live" is the live revision.
func (h *handlers) revision(w http.ResponseWriter, r *http.Request) {
	svc, err := h.service(r)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	n := svc.LiveRevision
	if r.PathValue("n") != "live" {
		id, err := pathID(r, "n")
		if err != nil {
			server.WriteError(w, err)
			return
		}
		n = int(id)
	} else if n == 0 {
		server.WriteError(w, server.Errorf(http.StatusNotFound, "service %s has no live revision yet", svc.Name))
		return
	}
	rv, err := h.Store.GetRevision(r.Context(), svc.ID, n)
	if errors.Is(err, store.ErrNotFound) {
		err = server.Errorf(http.StatusNotFound, "service %s has no revision %d", svc.Name, n).WithHint("`ferry revisions " + svc.Name + "` lists them")
	}
	if err != nil {
		server.WriteError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, revision(rv, svc, true))
}

func revision(rv store.Revision, svc store.Service, withSpec bool) Revision {
	out := Revision{
		Number: rv.Number, Live: rv.Number == svc.LiveRevision, Artifact: rv.ArtifactDigest, GitSHA: rv.GitSHA,
		Message: rv.Message, CreatedAt: rv.CreatedAt,
	}
	if withSpec {
		out.Spec = rv.MaskedSpec
	}
	return out
}
