package cli

import (
	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
)

func init() { register(newResumeCmd) }

func newResumeCmd(g *Globals) *cobra.Command {
	return controlCmd(g, api.ControlResume, controlHelp{
		short: "Resume a paused deployment",
		long: `Resumes the deployment of SERVICE paused by ` + "`ferry pause`" + `, or held because
its analysis was inconclusive too many times in a row.`,
		example: `  ferry resume web`,
	})
}
