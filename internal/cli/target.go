package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
)

// defaultEnv is the environment a command addresses without --env.
const defaultEnv = "production"

// target is how every domain command addresses an app's environment: --app
// (default: the app of ./ferry.yaml), --env (default production) and --file.
// A SERVICE argument is a service name of that app and environment.
type target struct {
	g    *Globals
	App  string
	Env  string
	File string
}

func addTargetFlags(cmd *cobra.Command, g *Globals) *target {
	t := &target{g: g}
	cmd.Flags().StringVar(&t.App, "app", "", "the app (default: the app of the ferry.yaml given by --file)")
	cmd.Flags().StringVarP(&t.Env, "env", "e", defaultEnv, "the environment")
	cmd.Flags().StringVar(&t.File, "file", "ferry.yaml", "the deploy definition")
	return t
}

// overlay is the environment overlay to load from def's file: the one named
// like the environment, or the base definition for production when the file
// declares no production overlay.
// An unknown name is left to config.Load, which lists the known ones.
func (t *target) overlay(envs []string) string {
	if t.Env == defaultEnv && !slices.Contains(envs, t.Env) {
		return ""
	}
	return t.Env
}

// load reads the definition for t.Env (templates expanded with the
// deployer's environment and $FERRY_HOME's secrets).
func (t *target) load(h home.Dir) (*config.Definition, error) {
	base, err := config.Load(t.File, config.Options{Home: h.Root()})
	if err != nil {
		return nil, err
	}
	ov := t.overlay(base.Environments)
	if ov == "" {
		return base, nil
	}
	return config.Load(t.File, config.Options{Environment: ov, Home: h.Root()})
}

// app is --app, else the app of the definition file.
func (t *target) app(h home.Dir) (string, error) {
	if t.App != "" {
		return t.App, nil
	}
	def, err := config.Load(t.File, config.Options{Home: h.Root()})
	if errors.Is(err, fs.ErrNotExist) {
		abs, _ := filepath.Abs(t.File)
		return "", fmt.Errorf("which app? pass --app, or run where the app's ferry.yaml is (there is none at %s)", abs)
	}
	if err != nil {
		return "", fmt.Errorf("which app? pass --app, or fix %s: %w", t.File, err)
	}
	return def.App, nil
}

// resolve returns the home, a client of its server and the app name.
func (t *target) resolve() (home.Dir, *client.Client, string, error) {
	h, err := home.New(t.g.Home)
	if err != nil {
		return h, nil, "", err
	}
	app, err := t.app(h)
	if err != nil {
		return h, nil, "", err
	}
	c, err := client.New(h, client.Options{})
	return h, c, app, err
}

// ctxOf is the command's context, or Background.
func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
