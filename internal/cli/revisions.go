package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newRevisionsCmd) }

func newRevisionsCmd(g *Globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "revisions [SERVICE]",
		Short: "List a service's revisions, newest first",
		Long: `Lists the revisions of SERVICE (of --app in --env), newest first: number,
whether it is live, artifact digest, git commit, creation time and message.
Without SERVICE, every service of the environment.`,
		Example: `  ferry revisions web
  ferry revisions --env staging -o json`,
		Args: cobra.MaximumNArgs(1),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := ctxOf(cmd)
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		names := args
		if len(names) == 0 {
			var st api.Status
			if err := c.Do(ctx, "GET", api.StatusPath(app, t.Env), nil, &st); err != nil {
				return err
			}
			for _, s := range st.Services {
				names = append(names, s.Name)
			}
		}
		all := map[string][]api.Revision{}
		for _, name := range names {
			var revs []api.Revision
			path := fmt.Sprintf("%s/revisions?limit=%d", api.ServicePath(app, t.Env, name), limit)
			if err := c.Do(ctx, "GET", path, nil, &revs); err != nil {
				return err
			}
			all[name] = revs
		}
		out := cmd.OutOrStdout()
		if g.JSON() {
			return json.NewEncoder(out).Encode(all)
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tREVISION\tLIVE\tARTIFACT\tGIT\tCREATED\tMESSAGE")
		for _, name := range names {
			for _, r := range all[name] {
				live := ""
				if r.Live {
					live = "*"
				}
				fmt.Fprintf(tw, "%s\tr%d\t%s\t%s\t%s\t%s\t%s\n", name, r.Number, live, short(r.Artifact, 19), dash(short(r.GitSHA, 12)),
					r.CreatedAt.Local().Format(time.DateTime), r.Message)
			}
		}
		return tw.Flush()
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many per service (0: all)")
	return cmd
}

// short keeps the first n characters of s.
func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
