package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newLogsCmd) }

func newLogsCmd(g *Globals) *cobra.Command {
	var (
		followFlag bool
		task       string
		tail       int
	)
	cmd := &cobra.Command{
		Use:   "logs SERVICE",
		Short: "Print a service's task output",
		Long: `Prints the stdout and stderr of SERVICE's running tasks (or of one task,
running or stopped, with --task), each line prefixed with its task id;
-o json prints one {"task","line"} object per line. With -f it keeps
printing new output until interrupted.`,
		Example: `  ferry logs web
  ferry logs web -f --tail 20
  ferry logs web --task web-r3-2`,
		Args: cobra.ExactArgs(1),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if tail < 0 {
			return fmt.Errorf("--tail %d: want 0 (all) or more lines", tail)
		}
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		q := url.Values{}
		if task != "" {
			q.Set("task", task)
		}
		if tail > 0 {
			q.Set("tail", strconv.Itoa(tail))
		}
		if followFlag {
			q.Set("follow", "true")
		}
		out := cmd.OutOrStdout()
		path := api.ServicePath(app, t.Env, args[0]) + "/logs?" + q.Encode()
		return c.Stream(ctxOf(cmd), path, func(raw json.RawMessage) error {
			if g.JSON() {
				_, err := fmt.Fprintf(out, "%s\n", raw)
				return err
			}
			var l api.LogLine
			if err := json.Unmarshal(raw, &l); err != nil {
				return err
			}
			_, err := fmt.Fprintf(out, "%s | %s\n", l.Task, l.Line)
			return err
		})
	}
	cmd.Flags().BoolVarP(&followFlag, "follow", "f", false, "keep printing new output")
	cmd.Flags().StringVar(&task, "task", "", "only this task (a stopped one too)")
	cmd.Flags().IntVar(&tail, "tail", 0, "start with the last N lines of each task (0: all)")
	return cmd
}
