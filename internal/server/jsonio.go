package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/ferrycd/ferry/internal/server/wire"
)

// Error is an API error: its Status is the HTTP status sent, Message and Hint
// fill the error document. Handlers return or write one to choose the status;
// any other error becomes a 500 whose text is not shown to the caller.
type Error struct {
	Status  int
	Message string
	Hint    string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with status and a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns a copy of e with hint set.
func (e *Error) WithHint(hint string) *Error {
	c := *e
	c.Hint = hint
	return &c
}

// WriteJSON sends v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is already sent: an encoding error can only be a broken
	// connection or a programming error caught by tests.
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError sends err as an error document. An *Error keeps its status and
// text; anything else is a 500 with a generic message, so internal details
// (paths, SQL, secrets in wrapped errors) never reach the caller — the
// access log has the request id to correlate.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Message: "internal error", Hint: "the server log has the details (match the X-Request-Id)"}
	}
	WriteJSON(w, e.Status, wire.ErrorDoc{Error: e.Message, Hint: e.Hint})
}

// Decode reads the request body as one JSON value into v, refusing unknown
// fields, trailing data and bodies over the server's limit. Its errors are
// *Error (400 or 413) naming the problem, ready for WriteError.
func Decode(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return Errorf(http.StatusBadRequest, "request body: empty, want a JSON object")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeError(err)
		}
		return Errorf(http.StatusBadRequest, "request body: more than one JSON value")
	}
	return nil
}

// jsonKind names the JSON kind a Go type decodes from, for callers who never
// see the Go types.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

func decodeError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return Errorf(http.StatusRequestEntityTooLarge, "request body: larger than %d bytes", maxErr.Limit)
	case errors.As(err, &syntaxErr):
		return Errorf(http.StatusBadRequest, "request body: malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return Errorf(http.StatusBadRequest, "request body: want a JSON %s, got JSON %s", jsonKind(typeErr.Type), typeErr.Value)
		}
		return Errorf(http.StatusBadRequest, "request body: field %q: want a JSON %s, got JSON %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "request body: empty, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "request body: truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; its text is stable.
		return Errorf(http.StatusBadRequest, "request body: unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return Errorf(http.StatusBadRequest, "request body: %v", err)
	}
}
