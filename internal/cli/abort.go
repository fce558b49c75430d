package cli

import (
	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newAbortCmd) }

func newAbortCmd(g *Globals) *cobra.Command {
	return controlCmd(g, api.ControlAbort, controlHelp{
		short: "Abort a deployment: traffic back to the stable revision at once",
		long: `Aborts the deployment in flight of SERVICE. Under blue/green, canary and
immutable all traffic goes back to the stable revision in one router change
and the new tasks are drained and stopped; a rolling deployment rolls back.
The deployment ends aborted, and the ` + "`ferry deploy`" + ` following it exits non-zero.`,
		example: `  ferry abort web
  ferry abort web --deployment 12`,
	})
}
