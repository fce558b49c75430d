package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newScaleCmd) }

func newScaleCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scale SERVICE=N...",
		Short: "Set how many tasks a service runs",
		Long: `Sets the task count of each SERVICE. The count holds across later deploys
until ferry.yaml's own count for the service changes. It returns once the
server recorded the counts; ` + "`ferry status`" + ` shows the tasks arriving.`,
		Example: `  ferry scale web=3
  ferry scale web=6 worker=2 --env staging`,
		Args: cobra.MinimumNArgs(1),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		reqs, err := parseScale(args)
		if err != nil {
			return err
		}
		ctx := ctxOf(cmd)
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		var done []api.ScaleResponse
		for _, r := range reqs {
			var res api.ScaleResponse
			if err := c.Do(ctx, "POST", api.ServicePath(app, t.Env, r.name)+"/scale", api.ScaleRequest{Count: r.count}, &res); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			done = append(done, res)
		}
		out := cmd.OutOrStdout()
		if g.JSON() {
			return json.NewEncoder(out).Encode(done)
		}
		for _, r := range done {
			fmt.Fprintf(out, "%s: %d → %d tasks\n", r.Service, r.From, r.Count)
		}
		return nil
	}
	return cmd
}

type scaleArg struct {
	name  string
	count int
}

// parseScale reads SERVICE=N arguments; nothing is sent unless all parse.
func parseScale(args []string) ([]scaleArg, error) {
	var out []scaleArg
	seen := map[string]bool{}
	for _, a := range args {
		name, n, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want SERVICE=N, e.g. web=3", a)
		}
		count, err := strconv.Atoi(n)
		if err != nil || count < 0 || count > api.MaxCount {
			return nil, fmt.Errorf("%q: count %q must be a whole number from 0 to %d", a, n, api.MaxCount)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q: service %s given twice", a, name)
		}
		seen[name] = true
		out = append(out, scaleArg{name, count})
	}
	return out, nil
}
