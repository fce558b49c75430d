package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// Config is what `ferry router` runs: the listeners and the router's options.
type Config struct {
	Listen        string // proxy address, e.g. 127.0.0.1:8080
	AdminSocket   string // unix socket path, created mode 0600
	MetricsListen string // Prometheus address; "" for none
	// ShutdownTimeout bounds the drain of in-flight requests on exit. Default 30s.
	ShutdownTimeout time.Duration
	// Restart asks for a seamless restart (successor.go), as the admin
	// API's POST /v1/restart does; `ferry router` feeds it SIGUSR2.
	Restart <-chan struct{}
	// OnHandover, if set, runs in the old process once its successor is
	// ready, e.g. to record the successor's pid for the daemon manager.
	OnHandover func(successorPID int)
	Options
}

// restartReq is one restart request; done receives the successor's pid.
type restartReq struct {
	done chan restartRes
}

type restartRes struct {
	pid int
	err error
}

// Run serves until ctx is done, then stops accepting, drains in-flight
// requests (up to ShutdownTimeout) and returns nil. It does the same once
// it has handed its sockets to a successor. ready, if not nil, receives the
// proxy's bound address once every listener is up. A process started by a
// predecessor (handoverEnv set) serves the sockets and table it inherits.
func Run(ctx context.Context, cfg Config, ready func(proxyAddr string)) error {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	inh, err := inherit()
	if err != nil {
		return err
	}
	var rt *Router
	if inh != nil {
		rt, err = newFromHandover(cfg.Options, inh.state)
		inh.state.Close()
	} else {
		rt, err = New(cfg.Options)
	}
	if err != nil {
		if inh != nil {
			inh.close()
		}
		return err
	}
	defer rt.Close()
	log := rt.log
	var ln, adminLn, mln net.Listener
	if inh != nil {
		ln, adminLn, mln = inh.proxy, inh.admin, inh.metrics
	} else {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("router: listen %s: %w", cfg.Listen, err)
		}
		if adminLn, err = listenUnix(cfg.AdminSocket); err != nil {
			ln.Close()
			return err
		}
	}
	if cfg.MetricsListen != "" && mln == nil {
		if mln, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			adminLn.Close()
			return fmt.Errorf("router: metrics listen %s: %w", cfg.MetricsListen, err)
		}
	}
	handedOver := false
	defer func() {
		if !handedOver {
			os.Remove(cfg.AdminSocket)
		}
	}()
	restarts := make(chan restartReq)
	stopping := make(chan struct{})
	proxy := rt.NewServer()
	admin := &http.Server{Handler: rt.adminWithRestart(restarts, stopping), ReadHeaderTimeout: 10 * time.Second}
	admin.RegisterOnShutdown(rt.EndHealthWaits)
	servers := []shutdowner{proxy, admin}
	errc := make(chan error, 3)
	go func() { errc <- proxy.Serve(ln) }()
	go func() { errc <- admin.Serve(adminLn) }()
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", rt.MetricsHandler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, ms)
		go func() { errc <- ms.Serve(mln) }()
		log.Info("router: metrics", "addr", mln.Addr().String())
	}
	log.Info("router: listening", "addr", ln.Addr().String(), "admin", cfg.AdminSocket, "pid", os.Getpid())
	if inh != nil {
		if err := inh.signalReady(); err != nil {
			// The predecessor gave up on us and goes on serving.
			log.Error("router: the old process is gone before the hand-over", "err", err)
			close(stopping)
			proxy.Close()
			admin.Close()
			return fmt.Errorf("router: hand-over: %w", err)
		}
		log.Info("router: took over from the old process", "pid", os.Getppid())
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	var runErr error
	restart := func(req restartReq) {
		h := rt.freeze()
		pid, err := startSuccessor(ln, adminLn, mln, h)
		if err != nil {
			rt.thaw()
			log.Error("router: restart failed; this process goes on serving", "err", err)
		} else {
			handedOver = true
			// The successor serves the admin socket now: closing this
			// process's copy must not remove its path.
			if ul, ok := adminLn.(*net.UnixListener); ok {
				ul.SetUnlinkOnClose(false)
			}
			log.Info("router: handed over to a new process", "pid", pid)
			if cfg.OnHandover != nil {
				cfg.OnHandover(pid)
			}
		}
		if req.done != nil {
			req.done <- restartRes{pid: pid, err: err}
		}
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case runErr = <-errc:
			break loop
		case <-cfg.Restart:
			restart(restartReq{})
		case req := <-restarts:
			restart(req)
		}
		if handedOver {
			break
		}
	}
	close(stopping)
	log.Info("router: shutting down, draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			s.Close()
		}
	}
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	return nil
}

// adminWithRestart is the admin API plus POST /v1/restart, which answers
// once the successor is ready (or the restart failed).
func (rt *Router) adminWithRestart(restarts chan<- restartReq, stopping <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", rt.AdminHandler())
	mux.HandleFunc("POST /v1/restart", func(w http.ResponseWriter, r *http.Request) {
		req := restartReq{done: make(chan restartRes, 1)}
		select {
		case restarts <- req:
		case <-stopping:
			reply(w, nil, errf(ErrHandingOver, "router is stopping or handing over already"))
			return
		case <-r.Context().Done():
			return
		}
		res := <-req.done
		if res.err != nil {
			reply(w, nil, res.err)
			return
		}
		reply(w, api.Restarted{OldPID: os.Getpid(), PID: res.pid}, nil)
	})
	return mux
}

type shutdowner interface {
	Shutdown(context.Context) error
	Close() error
}

// httpServer is the general path's http.Server with the router's header
// limit and timeouts.
func (rt *Router) httpServer() *http.Server {
	o := rt.opts
	return &http.Server{
		Handler:           rt,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
	}
}

// listenUnix listens on a socket only its owner may use. A stale socket left
// by a crash is replaced; a live one (another router) is an error.
func listenUnix(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("router: admin socket %s: another router is listening", path)
	}
	os.Remove(path)
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("router: admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("router: admin socket: %w", err)
	}
	return ln, nil
}
