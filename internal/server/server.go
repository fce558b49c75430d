package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/server/wire"
)

// DefaultMaxBody is the request body limit when Config.MaxBody is zero.
const DefaultMaxBody = 1 << 20

// Config configures a Server. Only Home is required.
type Config struct {
	Home home.Dir
	// Listen, when set, is a TCP address served besides the unix socket
	// (e.g. 127.0.0.1:7070; port 0 picks one, see TCPAddr).
	Listen string
	// Logger receives the access log and errors; nil means slog.Default().
	Logger *slog.Logger
	// Version is reported by /v1/health and /v1/version; "" means "dev".
	Version string
	// MaxBody bounds request bodies (413 beyond it); 0 means DefaultMaxBody.
	MaxBody int64
	// RotateToken replaces the API token at start.
	RotateToken bool
	// OnToken is called with the token when Serve creates one (first start
	// or rotation) — the one moment it can be shown. Never log it.
	OnToken func(token string)
	// ShutdownGrace bounds how long Serve waits for in-flight requests after
	// its context is cancelled; 0 means 5s.
	ShutdownGrace time.Duration
}

// Server is the control plane's HTTP server. Create it with New, register
// handlers with Handle, then call Serve once.
type Server struct {
	cfg     Config
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux
	hash    atomic.Pointer[[]byte]

	stopCtx  context.Context
	stop     context.CancelFunc
	sessions sync.WaitGroup // exec sessions, which Shutdown does not track

	ready   chan struct{}
	tcpAddr net.Addr
}

// New returns a Server with /v1/health (public) and /v1/version registered.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, maxBody: cfg.MaxBody, mux: http.NewServeMux(), ready: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.cfg.Version == "" {
		s.cfg.Version = "dev"
	}
	if s.cfg.ShutdownGrace <= 0 {
		s.cfg.ShutdownGrace = 5 * time.Second
	}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.HandlePublic("GET /v1/health", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, wire.Health{OK: true, Version: s.cfg.Version})
	}))
	s.Handle("GET /v1/version", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, wire.Version{Version: s.cfg.Version, Go: runtime.Version()})
	}))
	// Unknown paths get a JSON 404 — after authentication, so that the API's
	// shape is not revealed to callers without the token.
	s.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, Errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	}))
	return s
}

// Handle registers h for pattern (net/http's syntax, e.g. "POST
// /v1/services/{name}/deploy") behind authentication. It may be called
// before or during Serve; a duplicate pattern panics, as with http.ServeMux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, s.authenticate(h)) }

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(f))
}

// HandlePublic registers h without authentication: only for endpoints that
// authenticate otherwise (a webhook's HMAC) or disclose nothing (health).
func (s *Server) HandlePublic(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Ready is closed once Serve is listening.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// TCPAddr is the bound TCP address once Ready is closed, or nil without Listen.
func (s *Server) TCPAddr() net.Addr { return s.tcpAddr }

func (s *Server) tokenHash() []byte { return *s.hash.Load() }

// Serve takes the home's server lock, prepares the token, listens and serves
// until ctx is cancelled, then shuts down gracefully: streams and exec
// sessions are told to end, in-flight requests get ShutdownGrace to finish.
// A live server on the same home makes it fail with ErrAlreadyRunning.
func (s *Server) Serve(ctx context.Context) error {
	unlock, err := acquireLock(s.cfg.Home)
	if err != nil {
		return err
	}
	defer unlock()

	tok, created, err := ensureToken(s.cfg.Home, s.cfg.RotateToken)
	if err != nil {
		return err
	}
	if created && s.cfg.OnToken != nil {
		s.cfg.OnToken(tok)
	}
	hash, err := loadTokenHash(s.cfg.Home)
	if err != nil {
		return err
	}
	s.hash.Store(&hash)

	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	uln, err := listenUnix(s.cfg.Home.ServerSocket())
	if err != nil {
		return err
	}
	lns = append(lns, uln)
	if s.cfg.Listen != "" {
		tln, err := net.Listen("tcp", s.cfg.Listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", s.cfg.Listen, err)
		}
		lns = append(lns, tln)
		s.tcpAddr = tln.Addr()
	}

	hs := &http.Server{
		Handler:           s.wrap(s.mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- hs.Serve(ln) }()
	}
	attrs := []any{"socket", s.cfg.Home.ServerSocket(), "version", s.cfg.Version}
	if s.tcpAddr != nil {
		attrs = append(attrs, "listen", s.tcpAddr.String())
	}
	s.log.Info("ferry server listening", attrs...)
	close(s.ready)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.stop()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("shutdown: requests still in flight were cut", "err", err)
		hs.Close()
	}
	s.sessions.Wait()
	s.log.Info("ferry server stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
