package api

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/controller"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

// TestRefusalMapsControllerErrors: each kind of controller error gets its
// status; an internal failure is a 500 naming the failed step, its cause
// only in the server's log.
func TestRefusalMapsControllerErrors(t *testing.T) {
	var logged bytes.Buffer
	a := &adapter{log: slog.New(slog.NewTextHandler(&logged, nil))}
	tests := []struct {
		name   string
		err    error
		status int
		says   string
		hides  string
	}{
		{"bad input", &controller.Error{Kind: controller.ErrInvalid, Msg: `deploy: runtime "docker"`}, http.StatusBadRequest, `runtime "docker"`, ""},
		{"not found", &controller.Error{Kind: controller.ErrNotFound, Msg: "rollback: no earlier revision"}, http.StatusNotFound, "no earlier revision", ""},
		{"conflict", fmt.Errorf("wrapped: %w", &controller.Error{Kind: controller.ErrConflict, Msg: "restart: in flight"}), http.StatusConflict, "restart: in flight", ""},
		{"internal", &controller.Error{Msg: "deploy: recording the revisions failed", Cause: "sql: database is closed"}, http.StatusInternalServerError,
			"deploy: recording the revisions failed", "database is closed"},
		{"the adapter's own store read", fmt.Errorf("get deployment: %w", errors.New("disk I/O error")), http.StatusInternalServerError,
			"reading the result from the store failed", "disk I/O"},
		{"the adapter's own not found", fmt.Errorf("store: deployment 4: %w", store.ErrNotFound), http.StatusNotFound, "deployment 4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logged.Reset()
			var se *server.Error
			if err := a.refusal(tt.err); !errors.As(err, &se) {
				t.Fatalf("refusal = %v, want a *server.Error", err)
			}
			if se.Status != tt.status || !strings.Contains(se.Message, tt.says) {
				t.Errorf("got %d %q, want %d saying %q", se.Status, se.Message, tt.status, tt.says)
			}
			if tt.hides != "" && (strings.Contains(se.Message, tt.hides) || !strings.Contains(logged.String(), tt.hides)) {
				t.Errorf("cause %q: in the answer %q, or missing from the log %q", tt.hides, se.Message, logged.String())
			}
		})
	}
}
