package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/build"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
)

func init() { register(newDeployCmd) }

// exitNotLive is the exit code of a deploy, rollback or restart whose
// deployment ended without its revision fully live.
const exitNotLive = 2

func newDeployCmd(g *Globals) *cobra.Command {
	var (
		noWait  bool
		message string
	)
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Build the app here and roll it out, following the deployment",
		Long: `Renders ferry.yaml for the environment (templates expanded with your
environment and $FERRY_HOME's secrets), builds the working tree in this
process (cached step by step), then asks the server to roll out every
service whose spec or artifact changed, and follows each deployment live:
batch, healthy/total, old → new revision.

Exit status: 0 when every deployment succeeded (the new revision is fully
live); 2 when one was rolled back, superseded or failed (the reason is
printed); 1 for bad input (nothing is changed then).

The environment is --env (default production; a file without a production
overlay deploys its base definition as production).`,
		Example: `  ferry deploy                      # production, from ./ferry.yaml
  ferry deploy --env staging -m "fix the cart"
  ferry deploy --no-wait -o json    # print the deployments created and return`,
		Args: cobra.NoArgs,
	}
	tg := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		h, err := home.New(g.Home)
		if err != nil {
			return err
		}
		c, err := client.New(h, client.Options{})
		if err != nil {
			return err
		}
		_, err = deployHere(ctxOf(cmd), cmd, g, tg, h, c, deployOptions{NoWait: noWait, Message: message})
		return err
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the deployments are created")
	cmd.Flags().StringVarP(&message, "message", "m", "", "a note recorded with the revisions")
	return cmd
}

type deployOptions struct {
	NoWait  bool
	Message string
}

// deployHere is `ferry deploy`: render, build, post, follow. It returns the
// rendered definition (for `ferry up` to print URLs).
func deployHere(ctx context.Context, cmd *cobra.Command, g *Globals, t *target, h home.Dir, c *client.Client, o deployOptions) (*config.Definition, error) {
	def, err := t.load(h)
	if err != nil {
		return nil, err
	}
	if t.App != "" && t.App != def.App {
		return nil, fmt.Errorf("--app %q: %s defines app %q; deploy the app of the file, or omit --app", t.App, t.File, def.App)
	}
	// No build, and no home made, for a server that is not there.
	if _, err := c.Health(ctx); err != nil {
		return nil, err
	}
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(t.File)
	stderr := cmd.ErrOrStderr()
	res, err := runBuild(ctx, stderr, build.Options{
		RepoDir: dir, Steps: buildSteps(def.Build.Steps), Output: def.Build.Output, Home: h,
	})
	if err != nil {
		return nil, err
	}
	services, err := buildImages(ctx, stderr, h, dir, def, res.Digest)
	if err != nil {
		return nil, err
	}
	req := api.DeployRequest{
		Runtime: def.Runtime, Services: services, Secrets: def.SecretValues(), Notifications: def.Notifications,
		Artifact: res.Digest, GitSHA: gitSHA(ctx, dir), Message: o.Message,
	}
	var resp api.DeployResponse
	if err := c.Do(ctx, "POST", api.DeployPath(def.App, t.Env), req, &resp); err != nil {
		return nil, err
	}
	tagImages(ctx, stderr, h, def.App, services, resp.Deployments)
	out := cmd.OutOrStdout()
	if !g.JSON() {
		fmt.Fprintf(out, "built %s\n", res.Digest)
		for _, name := range resp.Unchanged {
			fmt.Fprintf(out, "%s: unchanged\n", name)
		}
		for _, d := range resp.Deployments {
			fmt.Fprintf(out, "%s: deployment %d, r%d → r%d\n", d.Service, d.ID, d.From, d.To)
		}
	}
	if o.NoWait {
		if g.JSON() {
			return def, json.NewEncoder(out).Encode(resp)
		}
		return def, nil
	}
	return def, follow(ctx, g, out, c, resp.Deployments)
}

// buildSteps maps the definition's steps to the builder's.
func buildSteps(in []config.Step) []build.Step {
	out := make([]build.Step, 0, len(in))
	for _, s := range in {
		out = append(out, build.Step{Name: s.Name, Run: s.Run, Env: s.Env, Inputs: s.Inputs})
	}
	return out
}

// runBuild builds with the steps' output on w, showing how long the build
// has run on a terminal once it takes over a second.
func runBuild(ctx context.Context, w io.Writer, o build.Options) (build.Result, error) {
	o.Log = w
	stop := showProgress(w, "building", 0)
	res, err := build.Build(ctx, o)
	stop()
	return res, err
}

// gitSHA is HEAD of the repository holding dir, with "-dirty" when the
// working tree (which is what was built) differs from it; "" outside git.
func gitSHA(ctx context.Context, dir string) string {
	sha, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "--quiet", "HEAD").Output()
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(sha))
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain").Output()
	if err != nil || len(strings.TrimSpace(string(status))) > 0 {
		s += "-dirty"
	}
	return s
}

// follow prints the deployments' progress as it changes until each ends, and
// fails (exit 2) unless every one succeeded.
func follow(ctx context.Context, g *Globals, out io.Writer, c *client.Client, refs []api.DeploymentRef) error {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		final = make([]api.Progress, len(refs))
		errs  = make([]error, len(refs))
	)
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			final[i], errs[i] = watchOne(ctx, c, ref, func(p api.Progress) {
				if g.JSON() {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(out, progressLine(p))
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if g.JSON() {
		if err := json.NewEncoder(out).Encode(final); err != nil {
			return err
		}
	}
	var failed []string
	for _, p := range final {
		if p.State != api.StateSucceeded {
			failed = append(failed, outcome(p))
		}
	}
	if len(failed) > 0 {
		return &ExitError{Code: exitNotLive, Err: errors.New(strings.Join(failed, "; "))}
	}
	return nil
}

// watchOne follows one deployment and returns its last progress.
func watchOne(ctx context.Context, c *client.Client, ref api.DeploymentRef, show func(api.Progress)) (api.Progress, error) {
	var last api.Progress
	err := c.Stream(ctx, api.DeploymentPath(ref.ID)+"/watch", func(raw json.RawMessage) error {
		var p api.Progress
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("deployment %d: bad progress line: %w", ref.ID, err)
		}
		if p.Service == "" {
			p.Service = ref.Service
		}
		// The final line often repeats the last figures; show news only.
		if progressLine(p) != progressLine(last) {
			show(p)
		}
		last = p
		return nil
	})
	if err != nil {
		return last, err
	}
	if !last.Done {
		return last, fmt.Errorf("deployment %d of %s: the server ended the progress stream before the deployment ended; follow it with `ferry events -f --deployment %d`", ref.ID, ref.Service, ref.ID)
	}
	return last, nil
}

// progressLine is one live line, e.g.
// "web: r1 → r2 in_progress, batch 1/2, new 1/2 healthy, old 2, failures 0/3".
func progressLine(p api.Progress) string {
	var b strings.Builder
	state := p.State
	if state == "" {
		state = "pending"
	}
	fmt.Fprintf(&b, "%s: r%d → r%d %s", p.Service, p.From, p.To, state)
	if p.Target != 0 && p.Target != p.To {
		fmt.Fprintf(&b, " (back to r%d)", p.Target)
	}
	if p.Steps > 0 {
		fmt.Fprintf(&b, ", %s step %d/%d, weights %s", p.Strategy, p.Step, p.Steps, weightsText(p.Weights))
	} else {
		fmt.Fprintf(&b, ", batch %d/%d", p.Batch, p.Batches)
	}
	fmt.Fprintf(&b, ", new %d/%d healthy, old %d", p.NewHealthy, p.Count, p.Old)
	if p.Threshold > 0 {
		fmt.Fprintf(&b, ", failures %d/%d", p.Failures, p.Threshold)
	}
	if a := p.Analysis; a != nil {
		fmt.Fprintf(&b, ", analysis %s (%d checks, %d failed; last %d requests, %.2f%% 5xx, p99 %.0fms)",
			a.Verdict, a.Checks, a.Failures, a.Requests, a.ErrorRate, a.P99Ms)
	}
	if p.Hold != "" {
		fmt.Fprintf(&b, ", held: %s (ferry resume or ferry promote)", p.Hold)
	}
	if p.Reason != "" {
		fmt.Fprintf(&b, " — %s", p.Reason)
	}
	return b.String()
}

// weightsText is "r1 90%, r2 10%", groups sorted.
func weightsText(w map[string]int) string {
	var parts []string
	for _, g := range slices.Sorted(maps.Keys(w)) {
		parts = append(parts, fmt.Sprintf("%s %d%%", g, w[g]))
	}
	return strings.Join(parts, ", ")
}

// outcome says how a deployment that did not succeed ended.
func outcome(p api.Progress) string {
	what := map[string]string{
		api.StateRolledBack: fmt.Sprintf("rolled back to r%d", p.From),
		api.StateSuperseded: "superseded by a newer deployment",
		api.StateFailed:     "failed",
		api.StateAborted:    "aborted",
	}[p.State]
	if what == "" {
		what = p.State
	}
	s := fmt.Sprintf("%s: deployment %d of r%d %s", p.Service, p.Deployment, p.To, what)
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return s
}
