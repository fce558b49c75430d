package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newStatusCmd) }

func newStatusCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the services of an app's environment, their deployments and tasks",
		Long: `Shows every service of the app (--app, else the app of ./ferry.yaml) in the
environment (--env, default production): the live revision, desired and
healthy task counts, the latest deployment with its progress, a crash loop
when there is one, and each task with its revision, state, address and
uptime; then the app's preview environments (branch or pull request, URL,
state, head commit, expiry).`,
		Example: `  ferry status
  ferry status --env staging -o json
  ferry status --app shop`,
		Args: cobra.NoArgs,
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		var st api.Status
		if err := c.Do(ctxOf(cmd), "GET", api.StatusPath(app, t.Env), nil, &st); err != nil {
			return err
		}
		if g.JSON() {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(st)
		}
		return printStatus(cmd.OutOrStdout(), st, time.Now())
	}
	return cmd
}

func printStatus(w io.Writer, st api.Status, now time.Time) error {
	fmt.Fprintf(w, "%s/%s\n", st.App, st.Environment)
	if len(st.Services) == 0 {
		fmt.Fprintln(w, "no services")
	} else {
		printServices(w, st, now)
	}
	if len(st.Previews) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\npreviews:")
	return printPreviews(w, st.Previews)
}

func printServices(w io.Writer, st api.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tLIVE\tHEALTHY\tSTATE")
	for _, s := range st.Services {
		desired := fmt.Sprint(s.Desired)
		if s.Scaled {
			desired += " (scaled)"
		}
		state := s.State
		if s.CrashLoop {
			state = "CRASH LOOP: " + s.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%s\n", s.Name, rev(s.LiveRevision), s.Healthy, desired, state)
	}
	tw.Flush()
	for _, s := range st.Services {
		if d := s.Deployment; d != nil {
			fmt.Fprintf(w, "\ndeployment %d: %s\n", d.Deployment, progressLine(*d))
		}
		if len(s.Tasks) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s tasks:\n", s.Name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TASK\tREVISION\tSTATE\tADDR\tUPTIME\tLAST ERROR")
		for _, t := range s.Tasks {
			up := "-"
			if !t.StartedAt.IsZero() {
				up = now.Sub(t.StartedAt).Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, rev(t.Revision), t.State, dash(t.Addr), up, t.LastError)
		}
		tw.Flush()
	}
}

func rev(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("r%d", n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
