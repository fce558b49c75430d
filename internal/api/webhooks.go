package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// WebhookPath is where GitHub posts deliveries.
const WebhookPath = "/hooks/github"

// MaxWebhookBody bounds a delivery's body; GitHub's are far smaller.
const MaxWebhookBody = 1 << 20

// WebhookReply is the answer to an accepted delivery.
type WebhookReply struct {
	Delivery  string `json:"delivery"`
	Queued    bool   `json:"queued"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// RegisterWebhooks adds POST /hooks/github to srv, outside bearer auth:
// each delivery must carry X-Hub-Signature-256, the HMAC-SHA256 of its raw
// body under secret, or it is refused (401) with nothing recorded. A
// signed, well-formed delivery is queued in the store and answered 202 at
// once; kick wakes the worker that processes the queue. A delivery id
// seen before is answered 200 and not queued again.
func RegisterWebhooks(srv *server.Server, st *store.Store, secret []byte, kick func(), log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	srv.HandlePublic("POST "+WebhookPath, &webhooks{st: st, secret: secret, kick: kick, log: log})
}

type webhooks struct {
	st     *store.Store
	secret []byte
	kick   func()
	log    *slog.Logger
}

func (h *webhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			server.WriteError(w, server.Errorf(http.StatusRequestEntityTooLarge, "delivery body: larger than %d bytes", MaxWebhookBody))
			return
		}
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "reading the delivery: %v", err))
		return
	}
	if err := github.Verify(h.secret, body, r.Header.Get(github.SignatureHeader)); err != nil {
		h.log.Warn("webhook refused", "delivery", r.Header.Get("X-GitHub-Delivery"), "err", err)
		server.WriteError(w, server.Errorf(http.StatusUnauthorized, "%v", err))
		return
	}
	id, event := r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-GitHub-Event")
	switch {
	case id == "":
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "no X-GitHub-Delivery header"))
		return
	case event == "":
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "no X-GitHub-Event header"))
		return
	}
	if _, err := github.Parse(event, body); err != nil {
		server.WriteError(w, server.Errorf(http.StatusBadRequest, "delivery %s: %v", id, err))
		return
	}
	_, err = h.st.EnqueueDelivery(r.Context(), store.Delivery{DeliveryID: id, Event: event, Payload: body})
	if errors.Is(err, store.ErrConflict) {
		server.WriteJSON(w, http.StatusOK, WebhookReply{Delivery: id, Duplicate: true})
		return
	}
	if err != nil {
		h.log.Error("webhook", "delivery", id, "err", err)
		server.WriteError(w, server.Errorf(http.StatusInternalServerError, "queueing delivery %s failed", id))
		return
	}
	if h.kick != nil {
		h.kick()
	}
	server.WriteJSON(w, http.StatusAccepted, WebhookReply{Delivery: id, Queued: true})
}
