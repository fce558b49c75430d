package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ferrycd/ferry/internal/server/wire"
)

// ExecStreams connect an exec session to the caller's terminal or buffers.
// Resize, when set with TTY, sends each terminal size it delivers.
type ExecStreams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan wire.Size
}

// Exec runs the command the exec endpoint at path describes and returns its
// exit code. See ExecWith.
func (c *Client) Exec(ctx context.Context, path string, stdin io.Reader, stdout, stderr io.Writer, tty bool) (int, error) {
	return c.ExecWith(ctx, path, ExecStreams{Stdin: stdin, Stdout: stdout, Stderr: stderr, TTY: tty})
}

// ExecWith POSTs to path with an upgrade to wire.Protocol and relays the
// streams until the server sends the exit code. Stdin (nil for none) is
// copied in a goroutine that may outlive the call while blocked on a read,
// as with os/exec. Putting the local terminal in raw mode is the caller's job.
func (c *Client) ExecWith(ctx context.Context, path string, s ExecStreams) (int, error) {
	req, err := c.newRequest(ctx, http.MethodPost, path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", wire.Protocol)
	if s.TTY {
		req.Header.Set(wire.TTYHeader, "1")
	}
	resp, err := c.send(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close()
		return 0, fmt.Errorf("POST %s: server answered %d, not an exec upgrade", path, resp.StatusCode)
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return 0, fmt.Errorf("POST %s: upgraded connection is not writable", path)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	fw := wire.NewWriter(conn)
	done := make(chan struct{})
	defer close(done)
	go func() {
		if s.Stdin != nil {
			if _, err := io.Copy(fw.Stream(wire.Stdin), s.Stdin); err != nil {
				return
			}
		}
		_ = fw.Write(wire.StdinEOF, nil)
	}()
	if s.TTY && s.Resize != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case sz := <-s.Resize:
					if fw.WriteResize(sz) != nil {
						return
					}
				}
			}
		}()
	}

	stdout, stderr := orDiscard(s.Stdout), orDiscard(s.Stderr)
	for {
		t, p, err := wire.Read(conn)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("exec: connection ended before the exit code: %w", err)
		}
		switch t {
		case wire.Stdout:
			if _, err := stdout.Write(p); err != nil {
				return 0, fmt.Errorf("exec: writing stdout: %w", err)
			}
		case wire.Stderr:
			if _, err := stderr.Write(p); err != nil {
				return 0, fmt.Errorf("exec: writing stderr: %w", err)
			}
		case wire.Error:
			var doc wire.ErrorDoc
			if json.Unmarshal(p, &doc) != nil || doc.Error == "" {
				doc.Error = "exec failed"
			}
			return 0, &APIError{Message: doc.Error, Hint: doc.Hint}
		case wire.Exit:
			return wire.ExitCode(p)
		}
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
