package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/runtime/process"
)

func init() { register(newShimCmd) }

// newShimCmd is the process driver's per-task supervisor: the driver
// re-executes the ferry binary as `ferry shim run|exec STATE-DIR`.
func newShimCmd(_ *Globals) *cobra.Command {
	return &cobra.Command{
		Use:                "shim run|exec STATE-DIR",
		Short:              "Supervise one task (started by the process runtime, not by hand)",
		Example:            "  ferry shim run $FERRY_HOME/run/tasks/web-r1-1   # what the process runtime runs (as root: /dev/shm/ferry-<hash>/tasks/…)",
		Hidden:             true,
		DisableFlagParsing: true,
		// The shim's exit status is its own report; nothing is printed.
		Run: func(cmd *cobra.Command, args []string) {
			// Flag parsing is off so that nothing is taken from a task's
			// arguments; help is still answered.
			if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
				cmd.Help()
				return
			}
			os.Exit(process.ShimMain(args))
		},
	}
}
