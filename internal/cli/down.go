package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
)

func init() { register(newDownCmd) }

func newDownCmd(g *Globals) *cobra.Command {
	var (
		all     bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the server and router daemons started in the background",
		Long: `Stops the control plane and the router that ` + "`ferry up`" + ` (or ` + "`ferry server --detach`" + `)
started: SIGTERM, then SIGKILL after --timeout. Tasks keep running (the next
` + "`ferry up`" + ` adopts them) unless --all, which asks the server to stop every
task first.`,
		Example: `  ferry down         # stop server and router; tasks keep running
  ferry down --all   # stop every task too`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := home.New(g.Home)
			if err != nil {
				return err
			}
			ctx := context.Background()
			if all {
				ids, err := stopAllTasks(ctx, h)
				if err != nil {
					return err
				}
				if !g.JSON() {
					fmt.Fprintf(cmd.OutOrStdout(), "stopped %d task(s)\n", len(ids))
				}
			}
			type result struct {
				PID     int  `json:"pid,omitempty"`
				Stopped bool `json:"stopped"`
			}
			results := map[string]result{}
			// The server first, so it does not reconfigure a router that is going away.
			for _, name := range []string{"server", "router"} {
				pid, err := daemon.Stop(h, name, timeout)
				switch {
				case errors.Is(err, daemon.ErrNotRunning):
					results[name] = result{}
					if !g.JSON() {
						fmt.Fprintf(cmd.OutOrStdout(), "ferry %s: not running\n", name)
					}
				case err != nil:
					return err
				default:
					results[name] = result{PID: pid, Stopped: true}
					if !g.JSON() {
						fmt.Fprintf(cmd.OutOrStdout(), "stopped ferry %s (pid %d)\n", name, pid)
					}
				}
			}
			if g.JSON() {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(results)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also stop every task (through the server) before stopping the daemons")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "how long each daemon gets to exit after SIGTERM before SIGKILL")
	return cmd
}

// stopAllTasks asks the local server to stop every task; if it cannot, down
// stops nothing, so no daemon is left half-stopped.
func stopAllTasks(ctx context.Context, h home.Dir) ([]string, error) {
	if _, ok := daemon.Running(h, "server"); !ok {
		return nil, fmt.Errorf("--all: the server is not running, so it cannot stop the tasks; start it with `ferry server --detach` and retry")
	}
	c, err := client.New(h, client.Options{Local: true})
	if err != nil {
		return nil, err
	}
	var res api.StoppedTasks
	if err := c.Do(ctx, "DELETE", api.TasksPath, nil, &res); err != nil {
		return nil, fmt.Errorf("--all: stopping tasks: %w", err)
	}
	return res.Stopped, nil
}
