package client_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/server/wire"
)

func shortHome(t *testing.T) home.Dir {
	t.Helper()
	dir, err := os.MkdirTemp("", "fy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h, _ := home.New(dir)
	return h
}

func serve(t *testing.T, h home.Dir, listen string) *server.Server {
	t.Helper()
	s := server.New(server.Config{Home: h, Listen: listen})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-errc })
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	return s
}

func TestNoServerIsAClearError(t *testing.T) {
	t.Setenv("FERRY_SERVER", "")
	t.Setenv("FERRY_TOKEN", "")
	h := shortHome(t)
	c, err := client.New(h, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Do(context.Background(), "GET", "/v1/version", nil, nil)
	var nr *client.NotRunningError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "no ferry server at "+h.ServerSocket()+": start one with `ferry up` or `ferry server`") {
		t.Fatalf("got %v", err)
	}
	// A socket file nobody listens on (a dead server) says the same.
	if err := os.MkdirAll(h.Root(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.ServerSocket(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), "GET", "/v1/version", nil, nil); !errors.As(err, &nr) {
		t.Fatalf("dead socket file: %v", err)
	}
}

func TestLocalTokenFileAndRemoteEnvironment(t *testing.T) {
	h := shortHome(t)
	s := serve(t, h, "127.0.0.1:0")

	t.Setenv("FERRY_SERVER", "")
	t.Setenv("FERRY_TOKEN", "")
	local, err := client.New(h, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v wire.Version
	if err := local.Do(context.Background(), "GET", "/v1/version", nil, &v); err != nil || v.Version != "dev" {
		t.Fatalf("local client with the home's token file: %+v %v", v, err)
	}

	tok, _ := os.ReadFile(h.TokenFile())
	other := shortHome(t) // a remote machine: no token file, no socket
	t.Setenv("FERRY_SERVER", "http://"+s.TCPAddr().String())
	t.Setenv("FERRY_TOKEN", strings.TrimSpace(string(tok)))
	remote, err := client.New(other, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Do(context.Background(), "GET", "/v1/version", nil, &v); err != nil {
		t.Fatalf("remote client from the environment: %v", err)
	}
	t.Setenv("FERRY_TOKEN", "")
	anon, _ := client.New(other, client.Options{})
	var apiErr *client.APIError
	if err := anon.Do(context.Background(), "GET", "/v1/version", nil, nil); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Fatalf("remote client without a token: %v", err)
	}
}

func TestBadServerURLAndPath(t *testing.T) {
	h := shortHome(t)
	for _, bad := range []string{"ftp://x", "localhost:7070", "http://"} {
		if _, err := client.New(h, client.Options{Server: bad}); err == nil || !strings.Contains(err.Error(), "FERRY_SERVER") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	c, _ := client.New(h, client.Options{Token: "x"})
	if err := c.Do(context.Background(), "GET", "v1/version", nil, nil); err == nil || !strings.Contains(err.Error(), "must start with /") {
		t.Fatalf("relative path: %v", err)
	}
}
