package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/runtime/hookbeat"
)

func init() { register(newHookCmd) }

// newHookCmd holds the commands a running lifecycle hook calls.
func newHookCmd(_ *Globals) *cobra.Command {
	hook := &cobra.Command{
		Use:     "hook",
		Short:   "Commands for a running lifecycle hook",
		Example: "  ferry hook heartbeat      # inside a pre_stop hook: I am still working",
	}
	hook.AddCommand(&cobra.Command{
		Use:   "heartbeat",
		Short: "Extend the running hook's timeout (up to ferry's maximum)",
		Long: `Tell ferry that the lifecycle hook running this command is still making
progress: its timeout starts again from now, up to the global maximum. It
touches the file named in $FERRY_HOOK_HEARTBEAT, which ferry sets for the
hook; touching that file yourself does the same.`,
		Example: `  # a pre_stop hook flushing a large log buffer
  while flush-next-chunk; do ferry hook heartbeat; done`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := os.Getenv(hookbeat.Env)
			if path == "" {
				return &ExitError{Code: 2, Err: errors.New(hookbeat.Env +
					" is not set: `ferry hook heartbeat` only works inside a ferry lifecycle hook")}
			}
			return hookbeat.Beat(path)
		},
	})
	return hook
}
