package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/server/wire"
)

func init() { register(newExecCmd) }

func newExecCmd(g *Globals) *cobra.Command {
	var (
		task  string
		noTTY bool
	)
	cmd := &cobra.Command{
		Use:   "exec SERVICE [--task ID] -- CMD [ARGS...]",
		Short: "Run a command inside a running task",
		Long: `Runs CMD in a task of SERVICE (a healthy one unless --task names one), in
the task's release directory with its environment ($PORT, FERRY_* and the
service's env), through the server's API: no SSH. When stdin is a terminal
the command gets a terminal too (raw mode, resized with yours); --no-tty
turns that off. ferry exits with the command's exit status.`,
		Example: `  ferry exec web -- sh -c 'echo $FERRY_TASK_ID'
  ferry exec web --task web-r2-3 -- sh
  echo 'select 1' | ferry exec web -- ./migrate --stdin`,
		Args: cobra.MinimumNArgs(2),
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if dash := cmd.ArgsLenAtDash(); dash != 1 {
			return errors.New("usage: ferry exec SERVICE -- CMD [ARGS...] (the command goes after --)")
		}
		_, c, app, err := t.resolve()
		if err != nil {
			return err
		}
		q := url.Values{"cmd": args[1:]}
		if task != "" {
			q.Set("task", task)
		}
		path := api.ServicePath(app, t.Env, args[0]) + "/exec?" + q.Encode()
		streams := client.ExecStreams{Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()}
		in, isFile := cmd.InOrStdin().(*os.File)
		if !noTTY && isFile && term.IsTerminal(int(in.Fd())) {
			state, err := term.MakeRaw(int(in.Fd()))
			if err != nil {
				return err
			}
			defer term.Restore(int(in.Fd()), state)
			streams.TTY = true
			streams.Resize = resizes(int(in.Fd()))
		}
		code, err := c.ExecWith(ctxOf(cmd), path, streams)
		if err != nil {
			return err
		}
		if code != 0 {
			return &ExitError{Code: code, Err: fmt.Errorf("%s exited with status %d", args[1], code)}
		}
		return nil
	}
	cmd.Flags().StringVar(&task, "task", "", "the task to run in (default: a healthy one)")
	cmd.Flags().BoolVar(&noTTY, "no-tty", false, "no terminal even when stdin is one")
	return cmd
}

// resizes delivers the terminal's size now and at every SIGWINCH.
func resizes(fd int) <-chan wire.Size {
	ch := make(chan wire.Size, 1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	send := func() {
		if w, h, err := term.GetSize(fd); err == nil {
			select {
			case <-ch:
			default:
			}
			ch <- wire.Size{Cols: uint16(w), Rows: uint16(h)}
		}
	}
	send()
	go func() {
		for range sig {
			send()
		}
	}()
	return ch
}
