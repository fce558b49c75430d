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

	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/router"
	routerclient "github.com/ferrycd/ferry/internal/router/client"
)

func init() { register(newRouterCmd) }

func newRouterCmd(g *Globals) *cobra.Command {
	var cfg router.Config
	var maxBody int64
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Run ferry's router: the HTTP data plane in front of your tasks",
		Long: `router proxies HTTP traffic to the tasks of each service, by host and path,
split between revisions by weight and rules, with health checks, draining and
metrics. The server configures it through the admin socket; it keeps serving
its last configuration (saved in its state file) while the server is down.
It runs until SIGTERM or SIGINT, then drains in-flight requests and exits 0.

On SIGUSR2 (or 'ferry router restart') it restarts without refusing or
failing a request: it starts its binary again (an upgraded binary takes
over) with its listening sockets, admin socket, table and targets' health
inherited; once the new process serves, the old one stops accepting,
finishes its requests in flight, closes idle keep-alive connections and
exits 0. The new process keeps the same output and, when the router runs as
ferry's daemon, becomes the recorded one ($FERRY_HOME/run/router.pid).`,
		Example: `  ferry router                                   # 127.0.0.1:8080, socket and state in $FERRY_HOME
  ferry router --listen 0.0.0.0:80 --metrics-listen 127.0.0.1:9100 --access-log
  ferry router restart                           # seamless restart of the running router`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := home.New(g.Home)
			if err != nil {
				return err
			}
			if err := h.Ensure(); err != nil {
				return err
			}
			if cfg.AdminSocket == "" {
				cfg.AdminSocket = h.RouterSocket()
			}
			if cfg.StatePath == "" {
				cfg.StatePath = h.RouterState()
			}
			cfg.MaxBodyBytes = maxBody
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cfg.Logger = log
			restart := make(chan os.Signal, 1)
			signal.Notify(restart, syscall.SIGUSR2)
			defer signal.Stop(restart)
			restartReq := make(chan struct{})
			go func() {
				for range restart {
					restartReq <- struct{}{}
				}
			}()
			cfg.Restart = restartReq
			cfg.OnHandover = func(pid int) {
				if err := daemon.Handover(h, "router", os.Getpid(), pid); err != nil {
					log.Error("router: recording the new process's pid", "err", err)
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return router.Run(ctx, cfg, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address the proxy listens on")
	f.StringVar(&cfg.AdminSocket, "admin-socket", "", "admin API unix socket (default $FERRY_HOME/router.sock)")
	f.StringVar(&cfg.StatePath, "state", "", "routing table file (default $FERRY_HOME/router.state.json)")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", "", "address serving Prometheus /metrics (off when empty)")
	f.BoolVar(&cfg.AccessLog, "access-log", false, "log every proxied request")
	f.Int64Var(&maxBody, "max-body", 64<<20, "largest request body in bytes (413 beyond)")
	cmd.AddCommand(newRouterRestartCmd(g))
	return cmd
}

func newRouterRestartCmd(g *Globals) *cobra.Command {
	var socket string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Restart the running router without dropping a connection",
		Long: `restart asks the running router (through its admin socket) to hand its
sockets, table and targets' health to a new router process, and returns once
the new process serves. The old one then drains and exits. If the new
process fails to start, the old one goes on serving and this command exits 1.`,
		Example: `  ferry router restart
  ferry router restart -o json       # {"old_pid": 4242, "pid": 4321}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if socket == "" {
				h, err := home.New(g.Home)
				if err != nil {
					return err
				}
				socket = h.RouterSocket()
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := routerclient.New(socket).Restart(ctx)
			if err != nil {
				return err
			}
			if g.JSON() {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "router restarted: pid %d handed over to pid %d\n", res.OldPID, res.PID)
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "admin-socket", "", "admin API unix socket (default $FERRY_HOME/router.sock)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for the new process")
	return cmd
}
