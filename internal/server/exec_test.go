package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/server/wire"
)

// fakeRunner stands in for the runtime's Exec: it upper-cases stdin to
// stdout, reports on stderr and exits with the code in the query.
func fakeRunner(r *http.Request) (server.ExecFunc, error) {
	if r.PathValue("task") != "t1" {
		return nil, server.Errorf(http.StatusNotFound, "task %q not found", r.PathValue("task")).WithHint("ferry status lists tasks")
	}
	var code int
	fmt.Sscan(r.URL.Query().Get("exit"), &code)
	return func(ctx context.Context, e server.ExecIO) (int, error) {
		in, err := io.ReadAll(e.Stdin)
		if err != nil {
			return 0, err
		}
		fmt.Fprint(e.Stdout, strings.ToUpper(string(in)))
		fmt.Fprintf(e.Stderr, "tty=%v read %d bytes", e.TTY, len(in))
		return code, nil
	}, nil
}

func TestExecRoundTrip(t *testing.T) {
	r := start(t, server.Config{}, func(s *server.Server) {
		s.Handle("POST /v1/tasks/{task}/exec", server.ExecHandler(fakeRunner))
	})
	c := newClient(t, r)
	big := strings.Repeat("abc", 50000) // several frames each way
	for _, tc := range []struct {
		code int
		tty  bool
	}{{0, false}, {3, true}, {-1, false}} {
		var out, errb bytes.Buffer
		code, err := c.Exec(context.Background(), fmt.Sprintf("/v1/tasks/t1/exec?exit=%d", tc.code), strings.NewReader(big), &out, &errb, tc.tty)
		if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || out.String() != strings.ToUpper(big) || errb.String() != fmt.Sprintf("tty=%v read %d bytes", tc.tty, len(big)) {
			t.Fatalf("exit %d (want %d), stdout %d bytes, stderr %q", code, tc.code, out.Len(), errb.String())
		}
	}
}

func TestExecErrors(t *testing.T) {
	r := start(t, server.Config{}, func(s *server.Server) {
		s.Handle("POST /v1/tasks/{task}/exec", server.ExecHandler(fakeRunner))
		s.Handle("POST /v1/broken/exec", server.ExecHandler(func(*http.Request) (server.ExecFunc, error) {
			return func(context.Context, server.ExecIO) (int, error) {
				return 0, server.Errorf(http.StatusConflict, "command not found: nope")
			}, nil
		}))
	})
	c := newClient(t, r)
	var apiErr *client.APIError
	_, err := c.Exec(context.Background(), "/v1/tasks/t9/exec", nil, nil, nil, false)
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Message != `task "t9" not found` || apiErr.Hint == "" {
		t.Fatalf("unknown task: %v", err)
	}
	_, err = c.Exec(context.Background(), "/v1/broken/exec", nil, nil, nil, false)
	if !errors.As(err, &apiErr) || apiErr.Message != "command not found: nope" {
		t.Fatalf("runner failure: %v", err)
	}
	// A plain POST, not an upgrade, is refused with a reason.
	resp := call(t, r, "POST", "/v1/tasks/t1/exec", r.token, "")
	if doc := errorDoc(t, resp); resp.StatusCode != 400 || !strings.Contains(doc.Error, wire.Protocol) {
		t.Fatalf("non-upgrade: %d %+v", resp.StatusCode, doc)
	}
	_, err = mustClient(t, r, "wrong").Exec(context.Background(), "/v1/tasks/t1/exec", nil, nil, nil, false)
	if !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Fatalf("exec with a wrong token: %v", err)
	}
}

func TestExecClientLeavingCancelsTheCommandAndResizeArrives(t *testing.T) {
	sizes := make(chan wire.Size, 1)
	cancelled := make(chan struct{})
	r := start(t, server.Config{}, func(s *server.Server) {
		s.Handle("POST /v1/sh/exec", server.ExecHandler(func(*http.Request) (server.ExecFunc, error) {
			return func(ctx context.Context, e server.ExecIO) (int, error) {
				fmt.Fprint(e.Stdout, "ready")
				select {
				case sz := <-e.Resize:
					sizes <- sz
				case <-ctx.Done():
				}
				<-ctx.Done()
				close(cancelled)
				return 0, nil
			}, nil
		}))
	})
	ctx, cancel := context.WithCancel(context.Background())
	resize := make(chan wire.Size, 1)
	resize <- wire.Size{Cols: 100, Rows: 30}
	stdin, stdinW := io.Pipe() // never closed: an interactive user
	defer stdinW.Close()
	out := &notifyWriter{ch: make(chan struct{}, 1)}
	errc := make(chan error, 1)
	go func() {
		_, err := newClient(t, r).ExecWith(ctx, "/v1/sh/exec", client.ExecStreams{Stdin: stdin, Stdout: out, TTY: true, Resize: resize})
		errc <- err
	}()
	select {
	case sz := <-sizes:
		if sz != (wire.Size{Cols: 100, Rows: 30}) {
			t.Fatalf("resize: %+v", sz)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("resize never reached the runner")
	}
	<-out.ch
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec after cancel: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("runner's context did not end when the client left")
	}
}

type notifyWriter struct{ ch chan struct{} }

func (w *notifyWriter) Write(p []byte) (int, error) {
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}
