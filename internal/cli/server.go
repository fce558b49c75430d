package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/build"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/controller"
	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/notify"
	routerclient "github.com/ferrycd/ferry/internal/router/client"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/runtime/docker"
	"github.com/ferrycd/ferry/internal/runtime/process"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

func init() { register(newServerCmd) }

func newServerCmd(g *Globals) *cobra.Command {
	var (
		listen, routerSocket string
		rotate, detach       bool
		previews             *previewFlags
		cacheSize            string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (the API the CLI talks to)",
		Long: `Runs ferry's control plane in the foreground: the store, the process
runtime, the per-service control loops that keep tasks healthy and move
deployments, and the API on the unix socket $FERRY_HOME/server.sock (mode
0600) and, with --listen, on TCP. It configures the router through the
router's admin socket (--router-socket). On start it adopts the tasks a
previous server left running.

Every API call needs the bearer token created at the first start: it is
printed once and saved to $FERRY_HOME/token (mode 0600), which the local CLI
reads. A CLI on another machine sets FERRY_SERVER=http://host:port and
FERRY_TOKEN=<token>. Only the token's sha256 is kept by the server.

With --detach it starts in the background (log in $FERRY_HOME/logs/server.log)
and returns once it answers; ` + "`ferry down`" + ` stops it.`,
		Example: `  ferry server                          # foreground, unix socket only
  ferry server --listen 127.0.0.1:7070  # also on TCP for remote CLIs
  ferry server --detach                 # in the background
  ferry server --rotate-token           # replace the API token, then serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := previews.validate(); err != nil {
				return err
			}
			cacheBytes, err := config.ParseSize(cacheSize)
			if err != nil {
				return fmt.Errorf("--build-cache-size: %w", err)
			}
			if cacheBytes <= 0 {
				return fmt.Errorf("--build-cache-size %s: want a size above 0, e.g. 4Gi", cacheSize)
			}
			h, err := home.New(g.Home)
			if err != nil {
				return err
			}
			showToken := func(tok string) {
				fmt.Fprintf(cmd.OutOrStdout(), "API token (shown once; saved to %s for the local CLI, give it to remote CLIs as FERRY_TOKEN):\n%s\n", h.TokenFile(), tok)
			}
			if routerSocket == "" {
				routerSocket = h.RouterSocket()
			}
			if detach {
				extra := append(previews.args(), "--build-cache-size", cacheSize)
				pid, err := startServerDaemon(h, listen, routerSocket, rotate, showToken, extra...)
				if err != nil {
					return err
				}
				if g.JSON() {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"pid": pid, "socket": h.ServerSocket(), "log": h.DaemonLog("server")})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ferry server running (pid %d) on %s; log: %s\n", pid, h.ServerSocket(), h.DaemonLog("server"))
				return nil
			}
			var handler slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
			if g.JSON() {
				handler = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
			}
			tuneServerGC()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, h, serveConfig{
				Listen: listen, RouterSocket: routerSocket, Rotate: rotate, OnToken: showToken, Logger: slog.New(handler),
				Previews: previews, BuildCache: build.CachePolicy{MaxBytes: cacheBytes},
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "also serve the API on this TCP address (e.g. 127.0.0.1:7070)")
	cmd.Flags().StringVar(&routerSocket, "router-socket", "", "the router's admin socket (default $FERRY_HOME/router.sock)")
	cmd.Flags().BoolVar(&rotate, "rotate-token", false, "replace the API token before serving (the old one stops working)")
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run in the background and return once the server answers")
	cmd.Flags().StringVar(&cacheSize, "build-cache-size", "4Gi", "how much the cached build layers may take; the least recently used go first, and any unused for 30 days")
	previews = addPreviewFlags(cmd)
	return cmd
}

type serveConfig struct {
	Listen, RouterSocket string
	Rotate               bool
	OnToken              func(string)
	Logger               *slog.Logger
	Previews             *previewFlags // nil: the defaults
	BuildCache           build.CachePolicy
}

// serve runs the control plane until ctx ends: the controller's loops and
// the API. Tasks keep running after it returns.
func serve(ctx context.Context, h home.Dir, cfg serveConfig) error {
	if err := h.Ensure(); err != nil {
		return err
	}
	st, err := store.Open(ctx, h.StorePath())
	if err != nil {
		return err
	}
	defer st.Close()
	// Spare shims take a shim's start-up off each task start: a batch of a
	// rolling deploy starts as fast as its processes can.
	drv := &process.Driver{Home: h, Spares: processSpares}
	defer drv.Close()
	// The engine is reached on first use: a server without docker services
	// needs none.
	dockerDrv := &docker.Driver{Instance: docker.InstanceFor(h.Root()), LogDir: h.LogsDir()}
	defer dockerDrv.Close()
	drivers := map[string]runtime.Driver{dockerDrv.Name(): dockerDrv}
	rc := routerclient.New(cfg.RouterSocket)
	notifier := notify.New(notify.Options{Logger: cfg.Logger})
	defer closeNotifier(notifier, cfg.Logger)
	ctl := controller.New(controller.Deps{
		Store: st, Driver: drv, Drivers: drivers, Router: rc, Artifacts: artifact.Store{Home: h}, Home: h, Logger: cfg.Logger,
		Notifier: notifier,
	})
	srv := server.New(server.Config{Home: h, Listen: cfg.Listen, Logger: cfg.Logger, RotateToken: cfg.Rotate, OnToken: cfg.OnToken})

	ctlCtx, stopCtl := context.WithCancel(ctx)
	defer stopCtl()
	ctlDone := make(chan struct{})
	var ctlErr error
	go func() {
		defer close(ctlDone)
		ctlErr = ctl.Run(ctlCtx)
	}()
	halt := func() error {
		stopCtl()
		<-ctlDone
		return ctlErr
	}
	api.Register(srv, api.Deps{
		Store: st, Driver: drv, Drivers: drivers, Logger: cfg.Logger, Controller: api.FromController(ctl, st, cfg.Logger),
	})
	go build.PruneCacheEvery(ctlCtx, h, cfg.BuildCache, buildCachePruneEvery, cfg.Logger)
	waitPreviews, err := cfg.Previews.start(ctlCtx, previewDeps{
		Home: h, Server: srv, Store: st, Controller: api.FromController(ctl, st, cfg.Logger),
		Destroy: ctl.DestroyEnvironment, Logger: cfg.Logger,
	})
	if err != nil {
		halt()
		return err
	}
	serveErr := srv.Serve(ctx)
	if err := halt(); err != nil && serveErr == nil {
		serveErr = err
	}
	waitPreviews()
	return serveErr
}

// buildCachePruneEvery is how often the server prunes the build cache.
const buildCachePruneEvery = time.Hour

// processSpares bounds the spare shims the process driver keeps; each idle
// one holds about 8 MiB.
const processSpares = 16

// notifyFlushTimeout bounds how long a stopping server keeps delivering
// queued notifications (retries included) before it drops them.
const notifyFlushTimeout = 10 * time.Second

// closeNotifier flushes queued notifications once the controller has
// stopped sending them.
func closeNotifier(n *notify.Notifier, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), notifyFlushTimeout)
	defer cancel()
	if err := n.Close(ctx); err != nil && log != nil {
		log.Warn("notifications dropped at shutdown", "err", err)
	}
}

// startServerDaemon starts `ferry server` in the background and returns its
// pid once it answers. The token is created (or rotated) here, where it
// can be shown to the user, rather than in the daemon whose output is a log.
func startServerDaemon(h home.Dir, listen, routerSocket string, rotate bool, showToken func(string), extra ...string) (int, error) {
	if rotate {
		tok, err := server.RotateToken(h)
		if err != nil {
			return 0, err
		}
		showToken(tok)
	} else {
		tok, created, err := server.EnsureToken(h)
		if err != nil {
			return 0, err
		}
		if created {
			showToken(tok)
		}
	}
	args := []string{"server", "--router-socket", routerSocket}
	if listen != "" {
		args = append(args, "--listen", listen)
	}
	args = append(args, extra...)
	c, err := client.New(h, client.Options{Local: true})
	if err != nil {
		return 0, err
	}
	return daemon.Start(context.Background(), daemon.Spec{
		Name: "server", Args: args, Home: h,
		Ready: func(ctx context.Context) error { _, err := c.Health(ctx); return err },
	})
}
