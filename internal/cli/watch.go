package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/preview"
)

func init() { register(newWatchCmd) }

func newWatchCmd(g *Globals) *cobra.Command {
	var (
		interval time.Duration
		once     bool
	)
	cmd := &cobra.Command{
		Use:   "watch REPO",
		Short: "Give every branch of a local repository its own preview",
		Long: `Watches the local git repository REPO, no git host needed: every branch
but the default one (what HEAD names) gets a preview at
http://<branch-slug>.localhost:8080, a new commit on a branch redeploys its
preview, and deleting the branch destroys it. It polls the branches every
--interval until interrupted; a branch deleted while it was not running is
destroyed when it starts. The server builds from REPO, so it must run on
this machine. It exits 0 on SIGINT or SIGTERM.`,
		Example: `  ferry watch .
  ferry watch ~/src/shop --interval 5s
  ferry watch . --once    # one pass, then exit`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval %s: must be positive", interval)
			}
			ctx, stop := signal.NotifyContext(ctxOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cmd.SetContext(ctx)
			top, err := repoTop(ctx, args[0])
			if err != nil {
				return err
			}
			c, err := previewClient(g)
			if err != nil {
				return err
			}
			var known []api.Preview
			if err := c.Do(ctx, "GET", api.PreviewsPath+"?repo="+url.QueryEscape(top), nil, &known); err != nil {
				return err
			}
			seen := map[string]string{}
			for _, p := range known {
				seen[p.Branch] = p.HeadSHA
			}
			w := &watcher{c: c, repo: top, seen: seen, out: cmd.OutOrStdout()}
			if !g.JSON() {
				fmt.Fprintf(w.out, "watching %s every %s\n", top, interval)
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if err := w.pass(cmd); err != nil && ctx.Err() == nil {
					return err
				}
				if once {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often the branches are read")
	cmd.Flags().BoolVar(&once, "once", false, "make one pass and exit")
	return cmd
}

type watcher struct {
	c    *client.Client
	repo string
	seen map[string]string // branch → head its preview was asked for
	out  interface{ Write([]byte) (int, error) }
}

// pass brings the previews in line with the branches once. A preview that
// could not be created for a lasting reason (its build failed) is not asked
// for again until its branch moves; other failures are retried next pass.
func (w *watcher) pass(cmd *cobra.Command) error {
	ctx := ctxOf(cmd)
	heads, def, err := preview.Branches(ctx, w.repo)
	if err != nil {
		return err
	}
	for _, ch := range preview.DiffBranches(w.seen, heads, def) {
		if ctx.Err() != nil {
			return nil
		}
		if ch.Gone {
			q := "?repo=" + url.QueryEscape(w.repo) + "&branch=" + url.QueryEscape(ch.Branch)
			if err := w.c.Do(ctx, "DELETE", api.PreviewsPath+q, nil, nil); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: destroy failed, retrying: %v\n", ch.Branch, err)
				continue
			}
			delete(w.seen, ch.Branch)
			fmt.Fprintf(w.out, "%s: branch gone, preview destroyed\n", ch.Branch)
			continue
		}
		var p api.Preview
		err := w.c.Do(ctx, "POST", api.PreviewsPath, api.PreviewRequest{Repo: w.repo, Branch: ch.Branch, SHA: ch.SHA}, &p)
		var ae *client.APIError
		switch {
		case err == nil:
			w.seen[ch.Branch] = ch.SHA
			fmt.Fprintf(w.out, "%s: %s live at %s\n", ch.Branch, short(ch.SHA, 12), p.URL)
		case errors.As(err, &ae) && (ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusBadRequest):
			w.seen[ch.Branch] = ch.SHA
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s failed: %v\n", ch.Branch, short(ch.SHA, 12), err)
		default:
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v (retrying)\n", ch.Branch, err)
		}
	}
	return nil
}
