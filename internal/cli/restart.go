package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newRestartCmd) }

func newRestartCmd(g *Globals) *cobra.Command {
	var (
		minHealthy int
		warmup     string
		noWait     bool
	)
	cmd := &cobra.Command{
		Use:   "restart [SERVICE]",
		Short: "Replace every task with a new one of the same revision",
		Long: `Replaces every task of SERVICE (default: every service of the environment)
with a fresh one of the live revision, in batches, like an instance refresh:
at least --min-healthy percent of the count keeps serving, and each new
task must stay healthy for --warmup before the next old one is drained.
Follows the restart like ` + "`ferry deploy`" + ` (exit 2 when it did not succeed).`,
		Example: `  ferry restart web
  ferry restart web --min-healthy 100 --warmup 10s
  ferry restart --env staging`,
		Args: cobra.MaximumNArgs(1),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if minHealthy < 0 || minHealthy > 100 {
			return fmt.Errorf("--min-healthy %d: want a percentage from 0 to 100", minHealthy)
		}
		wu, err := parseDuration("--warmup", warmup)
		if err != nil {
			return err
		}
		ctx := ctxOf(cmd)
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		names, err := serviceNames(ctx, c, app, t.Env, args)
		if err != nil {
			return err
		}
		var refs []api.DeploymentRef
		for _, name := range names {
			var ref api.DeploymentRef
			req := api.RestartRequest{MinHealthyPercent: minHealthy, Warmup: wu}
			if err := c.Do(ctx, "POST", api.ServicePath(app, t.Env, name)+"/restart", req, &ref); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			refs = append(refs, ref)
		}
		return created(ctx, cmd, g, c, refs, noWait)
	}
	cmd.Flags().IntVar(&minHealthy, "min-healthy", 0, "percent of the count that keeps serving (default: the service's max_unavailable)")
	cmd.Flags().StringVar(&warmup, "warmup", "", "how long a new task stays healthy before the next old one goes (default: min_healthy_time)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the restart is created")
	return cmd
}

// parseDuration reads an optional duration flag ("" is zero).
func parseDuration(flag, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: want a duration such as 10s or 2m", flag, v)
	}
	return d, nil
}
