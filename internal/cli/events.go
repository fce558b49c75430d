package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/home"
)

func init() { register(newEventsCmd) }

func newEventsCmd(g *Globals) *cobra.Command {
	var (
		followFlag bool
		service    string
		deployment int64
		since      int64
		tail       int
		all        bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the event trace: deployments, tasks, health, hooks",
		Long: `Prints the event trace of the app (--app, else the app of ./ferry.yaml) in
the environment (--env), oldest first, with timestamps: deployment steps,
task starts and exits, health changes, drains, hooks. Narrow it with
--service, --deployment or --since (an event id: only later ones); --all
shows every app. With -f it keeps printing new events until interrupted.`,
		Example: `  ferry events
  ferry events -f --service web
  ferry events --deployment 7 -o json`,
		Args: cobra.NoArgs,
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if deployment < 0 || since < 0 || tail < 0 {
			return fmt.Errorf("--deployment, --since and --tail take positive numbers")
		}
		q := url.Values{}
		h, err := home.New(g.Home)
		if err != nil {
			return err
		}
		if !all && deployment == 0 {
			app, err := t.app(h)
			if err != nil {
				return err
			}
			q.Set("app", app)
			q.Set("env", t.Env)
		}
		if service != "" {
			q.Set("service", service)
		}
		for k, v := range map[string]int64{"deployment": deployment, "since": since, "tail": int64(tail)} {
			if v > 0 {
				q.Set(k, strconv.FormatInt(v, 10))
			}
		}
		if followFlag {
			q.Set("follow", "true")
		}
		c, err := client.New(h, client.Options{})
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		return c.Stream(ctxOf(cmd), api.EventsPath+"?"+q.Encode(), func(raw json.RawMessage) error {
			if g.JSON() {
				_, err := fmt.Fprintf(out, "%s\n", raw)
				return err
			}
			var e api.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			_, err := fmt.Fprintln(out, eventLine(e))
			return err
		})
	}
	cmd.Flags().BoolVarP(&followFlag, "follow", "f", false, "keep printing new events")
	cmd.Flags().StringVar(&service, "service", "", "only this service's events")
	cmd.Flags().Int64Var(&deployment, "deployment", 0, "only this deployment's events (any app)")
	cmd.Flags().Int64Var(&since, "since", 0, "only events after this event id")
	cmd.Flags().IntVar(&tail, "tail", 0, "start with the last N events")
	cmd.Flags().BoolVar(&all, "all", false, "every app and environment")
	return cmd
}

// eventLine is e.g. "2026-11-21T22:10:42.123Z  #42  web  d7  deployment.started  rolling r1 → r2".
func eventLine(e api.Event) string {
	scope := e.Service
	if e.Deployment != 0 {
		scope += fmt.Sprintf(" d%d", e.Deployment)
	}
	if e.Task != "" {
		scope += " " + e.Task
	}
	return fmt.Sprintf("%s  #%d  %s  %s  %s", e.Time.Local().Format("2006-01-02T15:04:05.000"), e.ID, scope, e.Type, e.Message)
}
