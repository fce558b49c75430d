package cli

import (
	"github.com/ferrycd/ferry/internal/config"
	"github.com/spf13/cobra"
)

func init() { register(newRenderCmd) }

// definitionFlags are the flags of every command that loads ferry.yaml.
type definitionFlags struct {
	file, env, tfstate string
}

func (f *definitionFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "ferry.yaml", "the deploy definition")
	cmd.Flags().StringVar(&f.env, "env", "", "apply this environment's overlay (e.g. staging)")
	cmd.Flags().StringVar(&f.tfstate, "tfstate", "", "Terraform state for {{ tfstate }} (path or URL; default $FERRY_TFSTATE)")
}

func (f *definitionFlags) load(g *Globals) (*config.Definition, error) {
	d, err := config.Load(f.file, config.Options{Environment: f.env, Home: g.Home, TFState: f.tfstate})
	if err != nil {
		return nil, &ExitError{Code: 1, Err: err}
	}
	return d, nil
}

func newRenderCmd(g *Globals) *cobra.Command {
	var f definitionFlags
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the fully rendered deploy definition (secrets masked)",
		Long: `render loads ferry.yaml — templates expanded, the environment overlay and the
defaults applied — and prints the effective definition. Secret values are
printed as ***.`,
		Example: `  ferry render
  ferry render --env production
  ferry render -o json --file deploy/ferry.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.load(g)
			if err != nil {
				return err
			}
			var out []byte
			if g.JSON() {
				out, err = d.RenderJSON()
			} else {
				out, err = d.RenderYAML()
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f.add(cmd)
	return cmd
}
