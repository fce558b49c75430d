package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/server"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shortHome is a home whose socket path fits the 108-byte unix limit.
func shortHome(t *testing.T) home.Dir {
	t.Helper()
	dir, err := os.MkdirTemp("", "fy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h, err := home.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// running is a server under test.
type running struct {
	srv   *server.Server
	home  home.Dir
	token string
	shown bool // the token came through OnToken (created by this start)
	logs  *syncBuffer
	stop  func() error // cancels Serve and returns its error
}

// start serves cfg (Home filled in when zero) until the test ends; register
// adds handlers before Serve.
func start(t *testing.T, cfg server.Config, register func(*server.Server)) *running {
	t.Helper()
	if cfg.Home == (home.Dir{}) {
		cfg.Home = shortHome(t)
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	var token string
	cfg.OnToken = func(tok string) { token = tok }
	srv := server.New(cfg)
	if register != nil {
		register(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server not ready after 10s")
	}
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-errc:
			case <-time.After(15 * time.Second):
				t.Error("Serve did not return 15s after cancel")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	shown := token != ""
	if !shown {
		b, err := os.ReadFile(cfg.Home.TokenFile())
		if err != nil {
			t.Fatal(err)
		}
		token = strings.TrimSpace(string(b))
	}
	return &running{srv: srv, home: cfg.Home, token: token, shown: shown, logs: logs, stop: stop}
}

// unixHTTP is a plain HTTP client on the server's socket, for the tests that
// look at raw responses.
func unixHTTP(h home.Dir) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", h.ServerSocket())
	}}}
}

// call sends a raw request over the socket with token (none when "").
func call(t *testing.T, r *running, method, path, token string, body string) *http.Response {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequest(method, "http://ferry"+path, rd)
	} else {
		req, err = http.NewRequest(method, "http://ferry"+path, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := unixHTTP(r.home).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// newClient is the real client for r's home with its token.
func newClient(t *testing.T, r *running) *client.Client {
	t.Helper()
	c, err := client.New(r.home, client.Options{Token: r.token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustClient is a client for r's home with the given token.
func mustClient(t *testing.T, r *running, token string) *client.Client {
	t.Helper()
	c, err := client.New(r.home, client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
