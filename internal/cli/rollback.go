package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
)

func init() { register(newRollbackCmd) }

func newRollbackCmd(g *Globals) *cobra.Command {
	var (
		to     int
		noWait bool
	)
	cmd := &cobra.Command{
		Use:   "rollback [SERVICE]",
		Short: "Deploy an earlier revision again, following the deployment",
		Long: `Deploys revision --to N of SERVICE again (default: the revision that was
live before the live one) under the service's strategy, and follows it like
` + "`ferry deploy`" + `. Without SERVICE every service of the environment is rolled
back to its previous revision (--to needs a SERVICE).

Exit status: 0 once the revision is fully live, 2 when the rollback itself
did not succeed, 1 for bad input.`,
		Example: `  ferry rollback web           # to the previous revision
  ferry rollback web --to 3
  ferry rollback --env staging # every service`,
		Args: cobra.MaximumNArgs(1),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if to < 0 {
			return fmt.Errorf("--to %d: want a revision number (see `ferry revisions`)", to)
		}
		if to > 0 && len(args) == 0 {
			return errors.New("--to needs a SERVICE: revision numbers are per service")
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
			if err := c.Do(ctx, "POST", api.ServicePath(app, t.Env, name)+"/rollback", api.RollbackRequest{To: to}, &ref); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			refs = append(refs, ref)
		}
		return created(ctx, cmd, g, c, refs, noWait)
	}
	cmd.Flags().IntVar(&to, "to", 0, "the revision to return to (default: the previous live one)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the deployment is created")
	return cmd
}

// serviceNames is args, or every service of app/env when there is none.
func serviceNames(ctx context.Context, c *client.Client, app, env string, args []string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	var st api.Status
	if err := c.Do(ctx, "GET", api.StatusPath(app, env), nil, &st); err != nil {
		return nil, err
	}
	var names []string
	for _, s := range st.Services {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s/%s has no services yet; deploy first", app, env)
	}
	return names, nil
}

// created reports the deployments a command created and follows them
// unless noWait.
func created(ctx context.Context, cmd *cobra.Command, g *Globals, c *client.Client, refs []api.DeploymentRef, noWait bool) error {
	out := cmd.OutOrStdout()
	if noWait {
		if g.JSON() {
			return json.NewEncoder(out).Encode(refs)
		}
	}
	if !g.JSON() {
		for _, d := range refs {
			fmt.Fprintf(out, "%s: deployment %d, r%d → r%d\n", d.Service, d.ID, d.From, d.To)
		}
	}
	if noWait {
		return nil
	}
	return follow(ctx, g, out, c, refs)
}
