package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/spf13/cobra"
)

func init() { register(newInitCmd) }

func newInitCmd(g *Globals) *cobra.Command {
	var force bool
	var file string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter ferry.yaml for the repository here",
		Long: `init writes a starter ferry.yaml for the repository in the current directory:
go build steps for its main package when there is a go.mod, a placeholder
command otherwise. It refuses to overwrite an existing file without --force.`,
		Example: `  ferry init
  ferry init --force      # overwrite an existing ferry.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(file); err == nil && !force {
				return &ExitError{Code: 1, Err: fmt.Errorf("%s already exists (use --force to overwrite)", file)}
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			data, err := config.Starter(".")
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s; check it with: ferry verify\n", file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	cmd.Flags().StringVarP(&file, "file", "f", "ferry.yaml", "file to write")
	return cmd
}
