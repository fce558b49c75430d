package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ferrycd/ferry/internal/server/wire"
)

// Stream sends newline-delimited JSON, flushing each value as it is sent,
// for endpoints that follow (events -f, logs -f).
type Stream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc *json.Encoder
	ctx context.Context
}

// NewStream starts a 200 application/x-ndjson response. Its Context ends
// when the client goes away or the server shuts down; a following handler
// loops until then.
func NewStream(w http.ResponseWriter, r *http.Request) *Stream {
	w.Header().Set("Content-Type", wire.NDJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	ctx, cancel := context.WithCancel(r.Context())
	release := context.AfterFunc(stopping(r), cancel)
	context.AfterFunc(ctx, func() { release() }) // ctx ends with the request at the latest
	return &Stream{w: w, rc: rc, enc: json.NewEncoder(w), ctx: ctx}
}

// Context ends when the stream should stop.
func (s *Stream) Context() context.Context { return s.ctx }

// Send writes v as one line and flushes it to the client.
func (s *Stream) Send(v any) error {
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	return s.rc.Flush()
}
