package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newPromoteCmd) }

func newPromoteCmd(g *Globals) *cobra.Command {
	return controlCmd(g, api.ControlPromote, controlHelp{
		short: "Move a blue/green or canary deployment to its next step",
		long: `Moves the deployment in flight of SERVICE to its next traffic step now,
skipping the rest of the step's pause and its analysis gate; with --full,
straight to 100% of traffic. A blue/green deployment waiting for a promote
switches all traffic to the new set. Also releases a deployment paused
because analysis was inconclusive.`,
		example: `  ferry promote web
  ferry promote web --full
  ferry promote web --deployment 12`,
	})
}

type controlHelp struct{ short, long, example string }

// controlCmd is `ferry <action> SERVICE`: the action posted to the
// service's deployment in flight (or --deployment ID).
func controlCmd(g *Globals, action string, h controlHelp) *cobra.Command {
	var (
		id   int64
		full bool
	)
	cmd := &cobra.Command{
		Use:     action + " SERVICE",
		Short:   h.short,
		Long:    h.long,
		Example: h.example,
		Args:    cobra.MaximumNArgs(1),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && id == 0 {
			return fmt.Errorf("%s needs a SERVICE (or --deployment ID)", action)
		}
		ctx := ctxOf(cmd)
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		if id == 0 {
			var st api.Status
			if err := c.Do(ctx, "GET", api.StatusPath(app, t.Env), nil, &st); err != nil {
				return err
			}
			for _, s := range st.Services {
				if s.Name == args[0] && s.Deployment != nil && inFlight(s.Deployment.State) {
					id = s.Deployment.Deployment
				}
			}
			if id == 0 {
				return fmt.Errorf("%s/%s/%s has no deployment in flight (see `ferry status`)", app, t.Env, args[0])
			}
		}
		var res api.ControlResponse
		if err := c.Do(ctx, "POST", api.DeploymentPath(id)+"/"+action, api.ControlRequest{Full: full}, &res); err != nil {
			return err
		}
		if g.JSON() {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "deployment %d: %s requested; `ferry status` shows its effect\n", res.Deployment, res.Action)
		return nil
	}
	cmd.Flags().Int64Var(&id, "deployment", 0, "the deployment (default: the service's deployment in flight)")
	if action == api.ControlPromote {
		cmd.Flags().BoolVar(&full, "full", false, "send 100% of traffic to the new revision at once")
	}
	return cmd
}

// inFlight reports whether a deployment in state s has not ended.
func inFlight(s string) bool {
	switch s {
	case api.StateSucceeded, api.StateRolledBack, api.StateFailed, api.StateSuperseded, api.StateAborted:
		return false
	}
	return true
}
