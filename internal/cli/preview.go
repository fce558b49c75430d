package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/preview"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/store"
)

func init() { register(newPreviewCmd) }

func newPreviewCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "List, create and destroy preview environments",
		Long: `A preview is a branch's (or a pull request's) own live environment at
http://<slug>.<preview domain> (default domain localhost, so
http://my-branch.localhost:8080 works with no DNS set-up). The server
creates them from GitHub webhooks and ` + "`ferry watch`" + `; these commands
manage them by hand.`,
		Example: `  ferry preview list
  ferry preview create feature/login      # from the repository here
  ferry preview destroy feature-login     # by slug, environment or host
  ferry preview deliveries                # the webhooks received, and what became of them`,
	}
	cmd.AddCommand(newPreviewListCmd(g), newPreviewCreateCmd(g), newPreviewDestroyCmd(g), newPreviewDeliveriesCmd(g))
	return cmd
}

func previewClient(g *Globals) (*client.Client, error) {
	h, err := home.New(g.Home)
	if err != nil {
		return nil, err
	}
	return client.New(h, client.Options{})
}

func newPreviewListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List previews: host, branch, state, URL and expiry",
		Example: `  ferry preview list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := previewClient(g)
			if err != nil {
				return err
			}
			var ps []api.Preview
			if err := c.Do(ctxOf(cmd), "GET", api.PreviewsPath, nil, &ps); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.JSON() {
				return json.NewEncoder(out).Encode(ps)
			}
			return printPreviews(out, ps)
		},
	}
}

func newPreviewDeliveriesCmd(g *Globals) *cobra.Command {
	limit := 20
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "List the webhook deliveries received last: what each asked for, its state, attempts and last error",
		Long: `Lists the GitHub webhook deliveries the server accepted, newest first: the
event and what it asked for, whether it is done, failed or queued (with
when it is tried again), how many attempts it took and the last error.
Where a pull request's preview does not come, look here first. Deliveries
GitHub sent that the server refused (a bad signature) are not recorded:
GitHub's own delivery log shows those.`,
		Example: `  ferry preview deliveries
  ferry preview deliveries --limit 100 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit %d: want a number above 0", limit)
			}
			c, err := previewClient(g)
			if err != nil {
				return err
			}
			var ds []api.Delivery
			if err := c.Do(ctxOf(cmd), "GET", api.DeliveriesPath+"?limit="+strconv.Itoa(limit), nil, &ds); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.JSON() {
				return json.NewEncoder(out).Encode(ds)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RECEIVED\tDELIVERY\tEVENT\tWHAT\tSTATE\tATTEMPTS\tNEXT\tERROR")
			for _, d := range ds {
				next := "-"
				if !d.NextAttempt.IsZero() {
					next = d.NextAttempt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.Received.Local().Format(time.DateTime), d.ID, d.Event,
					d.Summary, d.State, d.Attempts, next, dash(oneLine(d.Error, 100)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", limit, "how many deliveries to show")
	return cmd
}

// oneLine is s's first line, cut to at most n runes (the table stays a
// table; -o json has the whole text).
func oneLine(s string, n int) string {
	s, _, cut := strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		s, cut = string(r[:n]), true
	}
	if cut {
		s += "…"
	}
	return s
}

func printPreviews(out interface{ Write([]byte) (int, error) }, ps []api.Preview) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENV\tBRANCH\tPR\tSTATE\tCOMMIT\tURL\tEXPIRES")
	for _, p := range ps {
		pr := "-"
		if p.PR > 0 {
			pr = fmt.Sprintf("#%d", p.PR)
		}
		exp := "-"
		if !p.ExpiresAt.IsZero() {
			exp = p.ExpiresAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Slug, p.Env, p.Branch, pr, p.State, dash(short(p.HeadSHA, 12)),
			dash(p.URL), exp)
	}
	return tw.Flush()
}

func newPreviewCreateCmd(g *Globals) *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "create BRANCH",
		Short: "Build BRANCH and deploy it as a preview; returns once it answers",
		Long: `Asks the server to build the head of BRANCH of the local repository
(--repo, default the one here) and deploy it as the branch's preview, then
prints its URL. Creating it again redeploys the branch's new head; an
unchanged head changes nothing. The server reads the repository directly,
so it must run on this machine.`,
		Example: `  ferry preview create feature/login
  ferry preview create fix-1 --repo ~/src/shop -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := ctxOf(cmd)
			top, err := repoTop(ctx, repo)
			if err != nil {
				return err
			}
			c, err := previewClient(g)
			if err != nil {
				return err
			}
			// The server builds and deploys before it answers: say so, and
			// that it is still at it, so a long build does not look hung.
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "building and deploying %s of %s (its trace: ferry events -f --all)\n", args[0], top)
			stop := showProgress(stderr, "still building or deploying "+args[0], 5*time.Second)
			var p api.Preview
			err = c.Do(ctx, "POST", api.PreviewsPath, api.PreviewRequest{Repo: top, Branch: args[0]}, &p)
			stop()
			if err != nil {
				return err
			}
			if g.JSON() {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(p)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "preview %s (%s) of %s at %s: %s\n", p.Slug, p.Env, p.Branch, short(p.HeadSHA, 12), p.URL)
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "the local git repository")
	return cmd
}

func newPreviewDestroyCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "destroy NAME",
		Short: "Destroy a preview: its tasks, routes, release directories and records",
		Long: `Destroys the preview named NAME — its slug, environment (pr-42, br-fix)
or host — once its tasks have stopped in the usual order. Destroying is
idempotent; a destroy cut short is finished by the server's sweeper.`,
		Example: `  ferry preview destroy feature-login
  ferry preview destroy pr-42`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := previewClient(g)
			if err != nil {
				return err
			}
			if err := c.Do(ctxOf(cmd), "DELETE", api.PreviewPath(args[0]), nil, nil); err != nil {
				return err
			}
			if !g.JSON() {
				fmt.Fprintf(cmd.OutOrStdout(), "preview %s destroyed\n", args[0])
			}
			return nil
		},
	}
}

// repoTop returns the absolute top directory of the repository at dir.
func repoTop(ctx context.Context, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "git", "-C", abs, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("%s is not inside a git repository", abs)
	}
	top := strings.TrimSpace(string(out))
	if _, err := os.Stat(top); err != nil {
		return "", err
	}
	return top, nil
}

// previewFlags are the server's settings for previews and git events.
type previewFlags struct {
	repos       []string // owner/name=clone URL or path
	pushEnv     string
	secretFile  string
	tokenFile   string
	githubAPI   string
	urlTemplate string
	sweepEvery  time.Duration
	workers     int
}

func addPreviewFlags(cmd *cobra.Command) *previewFlags {
	f := &previewFlags{}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.repos, "repo", nil, "a GitHub repository webhooks may name, and where to fetch it: owner/name=<clone URL or local path> (repeatable)")
	fl.StringVar(&f.pushEnv, "push-env", "staging", "the environment a push to the default branch deploys (\"\" for none)")
	fl.StringVar(&f.secretFile, "webhook-secret-file", "", "file holding the GitHub webhook secret, mode 0600 (default $FERRY_HOME/webhook-secret)")
	fl.StringVar(&f.tokenFile, "github-token-file", "", "file holding a GitHub token to report previews with, mode 0600 (default $FERRY_HOME/github-token, if present)")
	fl.StringVar(&f.githubAPI, "github-api", "", "GitHub REST API URL (default https://api.github.com/)")
	fl.StringVar(&f.urlTemplate, "preview-url", "http://{host}:8080", "how users reach a preview; {host} is its host")
	fl.DurationVar(&f.sweepEvery, "preview-sweep", time.Minute, "how often expired and orphaned previews are looked for")
	fl.IntVar(&f.workers, "preview-workers", preview.DefaultWorkers(), "webhook deliveries processed at once (each may build; by default one per core, at most 4); those of one pull request or branch keep their order")
	return f
}

// readSecretFile reads a secret from path, refusing a file others can read.
// A missing file is ("", nil) unless required.
func readSecretFile(path, what string, required bool) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s %s: mode %04o lets others read it; chmod 600 it", what, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %s: empty", what, path)
	}
	return s, nil
}

// validate checks the flags that need nothing else, so that a server
// given a bad one refuses before it touches its home; it returns the
// repositories by name.
func (f *previewFlags) validate() (map[string]string, error) {
	repos := map[string]string{}
	for _, r := range f.repos {
		name, src, ok := strings.Cut(r, "=")
		if !ok || name == "" || src == "" || strings.Count(name, "/") != 1 {
			return nil, fmt.Errorf("--repo %q: want owner/name=<clone URL or local path>", r)
		}
		repos[name] = src
	}
	if f.workers < 1 {
		return nil, fmt.Errorf("--preview-workers %d: must be at least 1", f.workers)
	}
	if !strings.Contains(f.urlTemplate, "{host}") {
		return nil, fmt.Errorf("--preview-url %q: must contain {host}", f.urlTemplate)
	}
	return repos, nil
}

// previewDeps are the parts of the server previews use.
type previewDeps struct {
	Home       home.Dir
	Server     *server.Server
	Store      *store.Store
	Controller api.Controller
	Destroy    func(ctx context.Context, app, env string) error
	Logger     *slog.Logger
}

// setup checks the flags, registers the preview and webhook endpoints and
// returns the manager, whose Run the server calls.
func (f *previewFlags) setup(d previewDeps) (*preview.Manager, error) {
	repos, err := f.validate()
	if err != nil {
		return nil, err
	}
	secretFile := f.secretFile
	if secretFile == "" {
		secretFile = d.Home.WebhookSecretFile()
	}
	secret, err := readSecretFile(secretFile, "webhook secret", f.secretFile != "")
	if err != nil {
		return nil, err
	}
	tokenFile := f.tokenFile
	if tokenFile == "" {
		tokenFile = d.Home.GitHubTokenFile()
	}
	token, err := readSecretFile(tokenFile, "github token", f.tokenFile != "")
	if err != nil {
		return nil, err
	}
	cfg := preview.Config{
		Store: d.Store, Home: d.Home, Environments: api.PreviewEnvironments(d.Controller, d.Destroy), Repos: repos,
		PushEnv: f.pushEnv, SweepEvery: f.sweepEvery, Workers: f.workers, Logger: d.Logger,
		URL: func(host string) string { return strings.ReplaceAll(f.urlTemplate, "{host}", host) },
	}
	if token != "" {
		gc, err := github.NewClient(f.githubAPI, token, nil)
		if err != nil {
			return nil, err
		}
		cfg.Reporter = gc
	}
	m := preview.New(cfg)
	api.RegisterPreviews(d.Server, d.Store, m, d.Logger)
	if secret == "" {
		d.Logger.Info("no webhook secret: POST " + api.WebhookPath + " refuses every delivery (write one to " + secretFile + ")")
	}
	api.RegisterWebhooks(d.Server, d.Store, []byte(secret), m.Kick, d.Logger)
	return m, nil
}

// start sets previews up (f nil: the defaults) and runs the manager until
// ctx ends; wait returns once it has stopped.
func (f *previewFlags) start(ctx context.Context, d previewDeps) (wait func(), err error) {
	if f == nil {
		f = &previewFlags{pushEnv: "staging", urlTemplate: "http://{host}:8080", sweepEvery: time.Minute, workers: preview.DefaultWorkers()}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	m, err := f.setup(d)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	return func() { <-done }, nil
}

// args are the flags that give a detached server the same settings.
func (f *previewFlags) args() []string {
	out := []string{"--push-env", f.pushEnv, "--preview-url", f.urlTemplate, "--preview-sweep", f.sweepEvery.String(),
		"--preview-workers", strconv.Itoa(f.workers)}
	for _, r := range f.repos {
		out = append(out, "--repo", r)
	}
	for _, fv := range [][2]string{{"--webhook-secret-file", f.secretFile}, {"--github-token-file", f.tokenFile}} {
		if fv[1] != "" {
			abs, err := filepath.Abs(fv[1]) // the daemon runs elsewhere
			if err != nil {
				abs = fv[1]
			}
			out = append(out, fv[0], abs)
		}
	}
	if f.githubAPI != "" {
		out = append(out, "--github-api", f.githubAPI)
	}
	return out
}
