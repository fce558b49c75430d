package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrycd/ferry/internal/store"
)

// Kinds of a request's failure; test with errors.Is. An *Error of none of
// them is an internal failure: the request was fine, a part the controller
// drives (the store, the artifact store) failed.
var (
	ErrInvalid  = errors.New("invalid request")
	ErrConflict = errors.New("conflict with the current state")
	ErrNotFound = errors.New("not found")
)

// Error is how the controller's requests (Deploy, Rollback, Scale,
// Restart, Status) fail. Its text never holds a secret value.
type Error struct {
	// Kind is ErrInvalid, ErrConflict or ErrNotFound; nil for an internal
	// failure.
	Kind error
	// Msg says what failed: for bad input, conflicts and absences, the
	// problem; for an internal failure only the step that failed, so it
	// can be shown to a client without the internals.
	Msg string
	// Cause is the internal failure's detail, for the server's log.
	Cause string
}

func (e *Error) Error() string {
	if e.Cause != "" {
		return e.Msg + ": " + e.Cause
	}
	return e.Msg
}

// Unwrap makes errors.Is(err, ErrConflict) (and the others) work.
func (e *Error) Unwrap() error { return e.Kind }

// Internal reports whether the failure is the controller's, not the
// request's.
func (e *Error) Internal() bool { return e.Kind == nil }

func invalidf(format string, args ...any) error  { return kindf(ErrInvalid, format, args...) }
func conflictf(format string, args ...any) error { return kindf(ErrConflict, format, args...) }
func notFoundf(format string, args ...any) error { return kindf(ErrNotFound, format, args...) }

func kindf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// kindOf classifies err: the controller's own kinds, and the store's
// not-found, conflict and refused values; nil for anything else.
func kindOf(err error) error {
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, store.ErrInvalid):
		return ErrInvalid
	case errors.Is(err, ErrNotFound), errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, ErrConflict), errors.Is(err, store.ErrConflict):
		return ErrConflict
	}
	return nil
}

// failure is the error a request returns for err: an *Error of err's kind
// with its text, or, when err has none, an internal *Error saying that op
// failed with err as its cause. Every text is masked with m. A context's
// end is returned as it is.
func failure(op string, m masker, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var e *Error
	if errors.As(err, &e) && e.Internal() {
		return &Error{Msg: m.mask(e.Msg), Cause: m.mask(e.Cause)}
	}
	if kind := kindOf(err); kind != nil {
		return &Error{Kind: kind, Msg: m.mask(err.Error())}
	}
	return &Error{Msg: m.mask(op + " failed"), Cause: m.mask(err.Error())}
}

// internal marks err, unless it has a kind, as the internal failure of
// step: the step is what a client is told.
func internal(step string, err error) error {
	if err == nil || kindOf(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Msg: step + " failed", Cause: err.Error()}
}
