package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/examples"
	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
	routerclient "github.com/ferrycd/ferry/internal/router/client"
)

func init() { register(newUpCmd) }

func newUpCmd(g *Globals) *cobra.Command {
	var (
		example, listen string
		noWait          bool
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start router and server if needed, deploy the app here, print its URL",
		Long: `The embedded default in one command: starts ` + "`ferry router`" + ` (on --listen)
and ` + "`ferry server`" + ` in the background unless they already run, then deploys
the app in this directory exactly like ` + "`ferry deploy`" + ` and prints the URL of
every route. With --example NAME the built-in example is written to
$FERRY_HOME/examples/NAME and deployed instead.

Running it again redeploys (services whose spec and artifact are unchanged
are left alone). ` + "`ferry down`" + ` stops the daemons.`,
		Example: `  ferry up --example hello                # then: curl -H 'Host: hello.localhost' http://127.0.0.1:8080/
  ferry up                                # the app of ./ferry.yaml
  ferry up --listen 127.0.0.1:9000 --env staging`,
		Args: cobra.NoArgs,
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := ctxOf(cmd)
		h, err := home.New(g.Home)
		if err != nil {
			return err
		}
		if err := h.Ensure(); err != nil {
			return err
		}
		if _, _, err := net.SplitHostPort(listen); err != nil {
			return fmt.Errorf("--listen %q: want host:port (e.g. 127.0.0.1:8080)", listen)
		}
		if example != "" {
			dir, err := extractExample(ctx, h, example)
			if err != nil {
				return err
			}
			t.File = filepath.Join(dir, "ferry.yaml")
		}
		// Read the definition before starting anything, so bad input
		// starts no daemon.
		if _, err := t.load(h); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if err := ensureRouter(ctx, h, listen, out, g.JSON()); err != nil {
			return err
		}
		if err := ensureServer(h, out, cmd.ErrOrStderr(), g.JSON()); err != nil {
			return err
		}
		c, err := client.New(h, client.Options{Local: true})
		if err != nil {
			return err
		}
		def, err := deployHere(ctx, cmd, g, t, h, c, deployOptions{NoWait: noWait})
		if err == nil && !noWait {
			// Unchanged services get no deployment to follow, but their
			// tasks may be starting (after `ferry down --all`).
			err = waitHealthy(ctx, c, def.App, t.Env, healthyWithin)
		}
		if def != nil && !g.JSON() {
			printURLs(out, def, listen)
		}
		return err
	}
	cmd.Flags().StringVar(&example, "example", "", "deploy a built-in example ("+strings.Join(examples.Names(), ", ")+")")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "where the router serves the apps (used when it is started)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the deployments are created")
	return cmd
}

// healthyWithin bounds how long up waits for tasks that are starting.
const healthyWithin = time.Minute

// waitHealthy polls the status until every service has its count of
// healthy tasks.
func waitHealthy(ctx context.Context, c *client.Client, app, env string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var st api.Status
		if err := c.Do(ctx, "GET", api.StatusPath(app, env), nil, &st); err != nil {
			return err
		}
		waiting := ""
		for _, s := range st.Services {
			if s.Healthy < s.Desired {
				waiting = fmt.Sprintf("%s has %d of %d tasks healthy", s.Name, s.Healthy, s.Desired)
			}
		}
		if waiting == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s after %s; see `ferry status` and `ferry events`", waiting, within)
		case <-tick.C:
		}
	}
}

// extractExample writes the example under $FERRY_HOME/examples and makes it
// a git repository, which builds need.
func extractExample(ctx context.Context, h home.Dir, name string) (string, error) {
	dir := filepath.Join(h.Root(), "examples", name)
	if err := examples.Extract(name, dir); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return dir, nil
	}
	if out, err := exec.CommandContext(ctx, "git", "init", "-q", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("making %s a git repository: %v: %s", dir, err, out)
	}
	return dir, nil
}

// ensureRouter starts `ferry router` unless it runs; ready once its admin
// socket answers.
func ensureRouter(ctx context.Context, h home.Dir, listen string, out io.Writer, quiet bool) error {
	if pid, ok := daemon.Running(h, "router"); ok {
		if !quiet {
			fmt.Fprintf(out, "ferry router already running (pid %d)\n", pid)
		}
		return nil
	}
	rc := routerclient.New(h.RouterSocket())
	pid, err := daemon.Start(ctx, daemon.Spec{
		Name: "router", Args: []string{"router", "--listen", listen}, Home: h,
		Ready: rc.Ping,
	})
	if err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(out, "ferry router running (pid %d) on %s; log: %s\n", pid, listen, h.DaemonLog("router"))
	}
	return nil
}

// ensureServer starts `ferry server` unless it runs.
func ensureServer(h home.Dir, out, errw io.Writer, quiet bool) error {
	if pid, ok := daemon.Running(h, "server"); ok {
		if !quiet {
			fmt.Fprintf(out, "ferry server already running (pid %d)\n", pid)
		}
		return nil
	}
	pid, err := startServerDaemon(h, "", h.RouterSocket(), false, func(tok string) {
		fmt.Fprintf(errw, "API token (shown once; saved to %s for the local CLI):\n%s\n", h.TokenFile(), tok)
	})
	if err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(out, "ferry server running (pid %d) on %s; log: %s\n", pid, h.ServerSocket(), h.DaemonLog("server"))
	}
	return nil
}

// printURLs prints where each routed service answers through the router.
func printURLs(out io.Writer, def *config.Definition, listen string) {
	host, port, _ := net.SplitHostPort(listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	names := def.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		for _, r := range def.Services[name].Routes {
			u := fmt.Sprintf("http://%s:%s%s", r.Host, port, routePath(r.Path))
			fmt.Fprintf(out, "%s: %s\n  curl -H 'Host: %s' http://%s%s\n", name, u, r.Host, net.JoinHostPort(host, port), routePath(r.Path))
		}
	}
}

func routePath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
