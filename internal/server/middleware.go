package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	serverKey
)

// RequestID returns the id the server gave the request (also sent back in
// the X-Request-Id header and logged), or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// stopping returns a context cancelled when the server begins to shut down,
// for the long-lived handlers (streams, exec) that Shutdown does not wait for.
func stopping(r *http.Request) context.Context {
	if s, ok := r.Context().Value(serverKey).(*Server); ok {
		return s.stopCtx
	}
	return context.Background()
}

// statusWriter records the status and size of a response for the access log
// and for panic recovery (a 500 can only be sent if nothing was sent yet).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack records the upgrade as a 101 before handing over the connection.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// wrap applies the middleware every request goes through, outermost first:
// request id, access log, panic recovery, body limit.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, serverKey, s)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// Method, path, status and timing only: headers carry the token
			// and bodies may carry secrets.
			s.log.LogAttrs(ctx, slog.LevelInfo, "http",
				slog.String("id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)))
		}()
		defer s.recoverPanic(sw, r)
		if r.ContentLength > s.maxBody {
			WriteError(sw, Errorf(http.StatusRequestEntityTooLarge, "request body: %d bytes, larger than the limit of %d", r.ContentLength, s.maxBody))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(sw, r.Body, s.maxBody)
		}
		next.ServeHTTP(sw, r)
	})
}

// recoverPanic turns a handler's panic into a logged stack and a 500, so one
// bad request never takes the control plane down.
func (s *Server) recoverPanic(w *statusWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error("panic in handler", "id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if w.status == 0 {
		WriteError(w, Errorf(http.StatusInternalServerError, "internal error").WithHint("the server log has the details (match the X-Request-Id)"))
		return
	}
	w.status = http.StatusInternalServerError
}

// requestID keeps a caller's X-Request-Id when it is short and plain (so a
// client can correlate), else makes one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && !strings.ContainsFunc(id, func(c rune) bool {
		return !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// authenticate requires the bearer token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" || !tokenMatches(s.tokenHash(), strings.TrimSpace(tok)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			WriteError(w, Errorf(http.StatusUnauthorized, "missing or invalid API token").
				WithHint("the local CLI reads $FERRY_HOME/token; a remote CLI sets FERRY_TOKEN (rotate with `ferry server --rotate-token`)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
