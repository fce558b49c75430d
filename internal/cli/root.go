// Package cli owns ferry's command-line surface: one file per command, each
// registering itself with the root. Commands parse flags, call the packages
// that own the work (config, store, server client, router, build) and print
// results; they hold no business logic of their own.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"
)

// Globals are the flags every command shares.
type Globals struct {
	// Home is $FERRY_HOME: the store, secrets, artifacts, sockets and logs.
	Home string
	// Output is "text" (default) or "json".
	Output string
}

// JSON reports whether the user asked for machine-readable output.
func (g *Globals) JSON() bool { return g.Output == "json" }

// constructor builds one top-level command.
type constructor func(g *Globals) *cobra.Command

var registry []constructor

// register adds a top-level command; each command file calls it from init so
// that commands never have to edit a shared list.
func register(c constructor) { registry = append(registry, c) }

// ExitError carries a specific exit code through cobra's error return.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// NewRoot builds the full command tree.
func NewRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &Globals{}
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Continuous delivery you run yourself",
		Long: `ferry builds your app, deploys it with zero downtime (rolling, blue/green,
canary, immutable), gives every pull request a live preview environment and
rolls back automatically when a new revision misbehaves.

The deploy definition lives in your repository as ferry.yaml.`,
		Example: `  ferry up                  # router + server + deploy the app in this directory
  ferry init                # write a starter ferry.yaml
  ferry render --env staging`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.Output != "text" && g.Output != "json" {
				return fmt.Errorf("--output %q: must be text or json", g.Output)
			}
			return nil
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.Home, "home", defaultHome(), "ferry's state directory ($FERRY_HOME)")
	root.PersistentFlags().StringVarP(&g.Output, "output", "o", "text", "output format: text or json")

	cmds := make([]*cobra.Command, 0, len(registry))
	for _, c := range registry {
		cmds = append(cmds, c(g))
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}

// Main runs ferry with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		var ee *ExitError
		if errors.As(err, &ee) {
			return ee.Code
		}
		return 1
	}
	return 0
}

func defaultHome() string {
	if h := os.Getenv("FERRY_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/.ferry"
	}
	return ".ferry"
}
