package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/runtime/docker"
	"github.com/spf13/cobra"
)

func init() { register(newVerifyCmd) }

func newVerifyCmd(g *Globals) *cobra.Command {
	var f definitionFlags
	var release string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check everything about ferry.yaml that can be checked before a deploy",
		Long: `verify loads ferry.yaml (templates, types, values, overlays) and checks that
every service with a port has a health path and that commands and hook
commands exist and are executable: in --release DIR (a built release), or in
the repository when the definition has no build steps. For a docker service
it checks that the referenced image is on the Docker engine, or that the
Dockerfile it is built from is in the repository. It lists every problem and
exits 1 if there is any.`,
		Example: `  ferry verify
  ferry verify --env production
  ferry verify --release out/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			d, err := config.Load(f.file, config.Options{Environment: f.env, Home: g.Home, TFState: f.tfstate})
			var problems []config.Problem
			if err != nil {
				errs, ok := err.(*config.Errors)
				if !ok {
					return &ExitError{Code: 1, Err: err}
				}
				problems = errs.Problems
			} else {
				dir := release
				if dir == "" && len(d.Build.Steps) == 0 {
					dir = filepath.Dir(f.file)
				}
				if dir == "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "note: commands not checked: the definition has build steps; pass --release DIR to check a built release")
				}
				problems = d.Verify(dir)
				problems = append(problems, verifyImages(ctxOf(cmd), d, filepath.Dir(f.file))...)
			}
			if g.JSON() {
				if problems == nil {
					problems = []config.Problem{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"ok": len(problems) == 0, "problems": problems}); err != nil {
					return err
				}
			} else if len(problems) == 0 {
				fmt.Fprintf(out, "%s: ok (app %s, services: %s)\n", f.file, d.App, strings.Join(d.ServiceNames(), ", "))
			} else {
				for _, p := range problems {
					fmt.Fprintln(out, p)
				}
			}
			if len(problems) > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%s: %d problem(s)", f.file, len(problems))}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&release, "release", "", "a built release directory to check commands in")
	return cmd
}

// engineWait bounds how long verify waits for an engine that does not answer.
const engineWait = 15 * time.Second

// verifyImages checks the images of docker services against the engine at
// $DOCKER_HOST (or the default socket); the engine is reached only when a
// service references an image.
func verifyImages(ctx context.Context, d *config.Definition, repo string) []config.Problem {
	ctx, cancel := context.WithTimeout(ctx, engineWait)
	defer cancel()
	drv := &docker.Driver{}
	defer drv.Close()
	return d.VerifyImages(ctx, repo, drv)
}
