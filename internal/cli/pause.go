package cli

import (
	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newPauseCmd) }

func newPauseCmd(g *Globals) *cobra.Command {
	return controlCmd(g, api.ControlPause, controlHelp{
		short: "Hold a deployment at its current step",
		long: `Pauses the deployment in flight of SERVICE: traffic stays as it is and no
step is taken until ` + "`ferry resume`" + `. Analysis keeps running, so a failing
revision is still rolled back.`,
		example: `  ferry pause web`,
	})
}
