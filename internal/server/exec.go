package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/server/wire"
)

// ExecIO is what an exec runner is connected to. Stdin ends (io.EOF) when the
// client closes its input; Resize delivers terminal sizes when TTY is set.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan wire.Size
}

// ExecFunc runs one command to completion and returns its exit code. Its ctx
// ends when the client disconnects or the server stops: it must then kill
// the command. It must not write to Stdout or Stderr after returning.
type ExecFunc func(ctx context.Context, io ExecIO) (exitCode int, err error)

// ExecHandler serves an exec endpoint. resolve looks the request up (task,
// command) before anything is upgraded, so its errors are ordinary JSON
// responses (return an *Error for a status other than 500). Then the
// connection is upgraded to wire.Protocol and the returned ExecFunc runs
// with the client's streams. A failure of the ExecFunc itself reaches the
// client as an Error frame (an *Error's text; anything else is "internal
// error"), otherwise the exit code as an Exit frame.
func ExecHandler(resolve func(r *http.Request) (ExecFunc, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", wire.Protocol) {
			WriteError(w, Errorf(http.StatusBadRequest, "exec needs an upgrade: Connection: Upgrade, Upgrade: %s", wire.Protocol))
			return
		}
		run, err := resolve(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		srv, _ := r.Context().Value(serverKey).(*Server)
		if srv != nil {
			srv.sessions.Add(1)
			defer srv.sessions.Done()
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			WriteError(w, err)
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Time{})
		if _, err := io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+wire.Protocol+"\r\n\r\n"); err != nil {
			return
		}
		if err := brw.Flush(); err != nil {
			return
		}

		ctx, cancel := context.WithCancel(stopping(r))
		defer cancel()
		fw := wire.NewWriter(conn)
		stdinR, stdinW := io.Pipe()
		defer stdinR.Close()
		resize := make(chan wire.Size, 1)
		go readClientFrames(brw.Reader, stdinW, resize, cancel)

		code, err := run(ctx, ExecIO{
			Stdin:  stdinR,
			Stdout: fw.Stream(wire.Stdout),
			Stderr: fw.Stream(wire.Stderr),
			TTY:    r.Header.Get(wire.TTYHeader) == "1",
			Resize: resize,
		})
		if err != nil {
			var e *Error
			doc := wire.ErrorDoc{Error: "internal error"}
			if errors.As(err, &e) {
				doc = wire.ErrorDoc{Error: e.Message, Hint: e.Hint}
			} else if srv != nil {
				srv.log.Error("exec failed", "id", RequestID(r.Context()), "path", r.URL.Path, "err", err)
			}
			b, _ := json.Marshal(doc)
			_ = fw.Write(wire.Error, b)
			return
		}
		_ = fw.WriteExit(code)
	})
}

// readClientFrames feeds the client's frames to the runner until the
// connection ends; an abrupt end (the client went away) cancels the runner.
func readClientFrames(r io.Reader, stdin *io.PipeWriter, resize chan wire.Size, cancel context.CancelFunc) {
	stdinOpen := true
	for {
		t, p, err := wire.Read(r)
		if err != nil {
			stdin.CloseWithError(io.ErrUnexpectedEOF)
			cancel()
			return
		}
		switch t {
		case wire.Stdin:
			if stdinOpen {
				// Fails only once the runner has returned and closed its end.
				if _, err := stdin.Write(p); err != nil {
					stdinOpen = false
				}
			}
		case wire.StdinEOF:
			stdin.Close()
			stdinOpen = false
		case wire.Resize:
			sz, err := wire.DecodeSize(p)
			if err != nil {
				continue
			}
			// Keep only the latest size: a runner that is slow to apply it
			// needs the current one, not the history.
			select {
			case <-resize:
			default:
			}
			resize <- sz
		}
	}
}

// headerHas reports whether a comma-separated header contains token (case-insensitive).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
