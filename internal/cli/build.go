package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/build"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
)

func init() { register(newBuildCmd) }

func newBuildCmd(g *Globals) *cobra.Command {
	var commit, file string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the app in this repository into an artifact",
		Long: `Build runs the build steps of ferry.yaml in a clean checkout and packs the
output directory into a content-addressed artifact in $FERRY_HOME.

Without --commit the working tree is built as it is (tracked and untracked
files, never ignored ones); with --commit exactly that commit is built.
Each step is cached under a key of its inputs, command, env and the steps
before it, so an unchanged step is restored instead of run.`,
		Example: `  ferry build                       # the working tree, as it is
  ferry build --commit HEAD         # exactly the last commit
  ferry build --commit v1.2.0 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := home.New(g.Home)
			if err != nil {
				return err
			}
			if err := h.Ensure(); err != nil {
				return err
			}
			path, err := filepath.Abs(file)
			if err != nil {
				return err
			}
			def, err := config.Load(path, config.Options{Home: h.Root()})
			if err != nil {
				return err
			}
			steps := make([]build.Step, len(def.Build.Steps))
			for i, s := range def.Build.Steps {
				steps[i] = build.Step{Name: s.Name, Run: s.Run, Env: s.Env, Inputs: s.Inputs}
			}
			res, err := build.Build(cmd.Context(), build.Options{
				RepoDir: filepath.Dir(path),
				Commit:  commit,
				Steps:   steps,
				Output:  def.Build.Output,
				Home:    h,
				Log:     cmd.ErrOrStderr(), // stdout is kept for the result
			})
			if err != nil {
				return err
			}
			return printBuild(cmd, g, res)
		},
	}
	cmd.Flags().StringVar(&commit, "commit", "", "build this commit (sha, branch or tag) instead of the working tree")
	cmd.Flags().StringVarP(&file, "file", "f", "ferry.yaml", "the deploy definition")
	return cmd
}

func printBuild(cmd *cobra.Command, g *Globals, res build.Result) error {
	out := cmd.OutOrStdout()
	if g.JSON() {
		type step struct {
			Name       string `json:"name"`
			Key        string `json:"key"`
			Cached     bool   `json:"cached"`
			DurationMS int64  `json:"duration_ms"`
		}
		v := struct {
			Digest string `json:"digest"`
			Commit string `json:"commit,omitempty"`
			Steps  []step `json:"steps"`
		}{Digest: res.Digest, Commit: res.Commit, Steps: []step{}}
		for _, s := range res.Steps {
			v.Steps = append(v.Steps, step{s.Name, s.Key, s.Cached, s.Duration.Milliseconds()})
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, s := range res.Steps {
		how := "ran"
		if s.Cached {
			how = "cached"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, how, s.Duration.Round(1e6))
	}
	tw.Flush()
	source := "working tree"
	if res.Commit != "" {
		source = "commit " + res.Commit
	}
	fmt.Fprintf(out, "built %s\n%s\n", source, res.Digest)
	return nil
}
