package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/ferrycd/ferry/internal/runtime"
)

// Exec runs a command in the task's container, with the container's
// environment and working directory, and returns its exit code. With TTY the
// command gets a terminal and its output comes raw on Stdout.
func (d *Driver) Exec(ctx context.Context, handle string, opts runtime.ExecOptions) (int, error) {
	if len(opts.Command) == 0 {
		return -1, fmt.Errorf("exec: empty command")
	}
	c, ok, err := d.inspect(ctx, handle)
	if err != nil {
		return -1, err
	}
	if !ok {
		return -1, fmt.Errorf("exec: task %.12s: it is not running", handle)
	}
	id := c.Config.Labels[LabelTaskID]
	if c.State == nil || !c.State.Running {
		return -1, fmt.Errorf("exec: task %s: it is not running", id)
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return -1, err
	}
	created, err := cli.ExecCreate(ctx, handle, client.ExecCreateOptions{
		Cmd: opts.Command, Env: opts.Env, TTY: opts.TTY, AttachStdin: opts.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if isConflict(err) {
		return -1, fmt.Errorf("exec: task %s: it is not running", id)
	}
	if err != nil {
		return -1, fmt.Errorf("exec in task %s: %w", id, d.engineErr(err))
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.TTY})
	if err != nil {
		return -1, fmt.Errorf("exec in task %s: %w", id, d.engineErr(err))
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()

	if opts.Stdin != nil {
		go func() {
			io.Copy(att.Conn, opts.Stdin)
			att.CloseWrite()
		}()
	}
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	if opts.TTY {
		_, err = io.Copy(stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, fmt.Errorf("exec in task %s: %w", id, err)
	}
	return d.execExit(ctx, cli, created.ID, id)
}

// execExit waits for the engine to record the exec's exit code: its output
// ends a moment before the engine marks it finished.
func (d *Driver) execExit(ctx context.Context, cli *client.Client, execID, id string) (int, error) {
	deadline := time.Now().Add(killWait)
	for {
		res, err := cli.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("exec in task %s: %w", id, d.engineErr(err))
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("exec in task %s: output ended but the command still runs after %s", id, killWait)
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
