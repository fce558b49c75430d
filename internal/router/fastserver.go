package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves the proxy side. Each connection starts on a hand-written
// HTTP/1.1 fast path for plain requests (pooled upstream connections, no
// per-request goroutines or header maps); the first request the fast path
// does not take (a body, an upgrade, anything unusual) hands the connection,
// bytes already read included, to a net/http server running the general
// path for the rest of its life.
type Server struct {
	rt      *Router
	general *http.Server
	handoff *handoffListener

	mu       sync.Mutex
	conns    map[*fastConn]struct{}
	lns      []net.Listener
	shutdown atomic.Bool
	wg       sync.WaitGroup
	// handedOff counts connections moved to the general path.
	handedOff atomic.Int64
}

// NewServer returns a Server for rt.
func (rt *Router) NewServer() *Server {
	s := &Server{rt: rt, general: rt.httpServer(), conns: map[*fastConn]struct{}{}}
	s.handoff = newHandoffListener()
	go s.general.Serve(s.handoff)
	return s
}

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		fc := s.newConn(c)
		s.mu.Lock()
		if s.shutdown.Load() {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[fc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go fc.serve()
	}
}

// Shutdown stops accepting, closes idle connections and waits for requests
// in flight (on both paths) until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return s.general.Shutdown(ctx)
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	s.closeListeners()
	s.mu.Lock()
	for c := range s.conns {
		c.c.Close()
	}
	s.mu.Unlock()
	return s.general.Close()
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown.Store(true)
	for _, ln := range s.lns {
		ln.Close()
	}
	s.handoff.Close()
}

func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.busy.CompareAndSwap(false, true) { // idle: claim it so no request starts
			c.c.Close()
		}
	}
}
