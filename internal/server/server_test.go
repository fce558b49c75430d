package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/server"
	"github.com/ferrycd/ferry/internal/server/wire"
)

func errorDoc(t *testing.T, resp *http.Response) wire.ErrorDoc {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error content type %q, want application/json", ct)
	}
	var doc wire.ErrorDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Error == "" {
		t.Fatal("error document without an error")
	}
	return doc
}

func TestAuthOnSocketAndTCP(t *testing.T) {
	r := start(t, server.Config{Listen: "127.0.0.1:0", Version: "1.2.3"}, nil)
	tcp := "http://" + r.srv.TCPAddr().String()
	get := func(c *http.Client, base, path, token string) *http.Response {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, via := range []struct {
		name string
		c    *http.Client
		base string
	}{{"unix", unixHTTP(r.home), "http://ferry"}, {"tcp", http.DefaultClient, tcp}} {
		t.Run(via.name, func(t *testing.T) {
			for _, tc := range []struct {
				name, path, token string
				want              int
			}{
				{"no token", "/v1/version", "", 401},
				{"wrong token", "/v1/version", "not-the-token", 401},
				{"token with extra characters", "/v1/version", r.token + "x", 401},
				{"unknown path without token", "/v1/nope", "", 401},
				{"right token", "/v1/version", r.token, 200},
				{"unknown path with token", "/v1/nope", r.token, 404},
				{"health needs no token", "/v1/health", "", 200},
			} {
				resp := get(via.c, via.base, tc.path, tc.token)
				if resp.StatusCode != tc.want {
					t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
					continue
				}
				if tc.want >= 400 {
					doc := errorDoc(t, resp)
					if tc.want == 401 && (resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(doc.Hint, "FERRY_TOKEN")) {
						t.Errorf("%s: 401 without WWW-Authenticate or FERRY_TOKEN hint: %+v", tc.name, doc)
					}
				}
			}
			var h wire.Health
			if err := json.NewDecoder(get(via.c, via.base, "/v1/health", "").Body).Decode(&h); err != nil || !h.OK || h.Version != "1.2.3" {
				t.Errorf("health: %+v %v", h, err)
			}
		})
	}
	if strings.Contains(r.logs.String(), r.token) {
		t.Fatal("the token appears in the server log")
	}
}

func TestFilesArePrivateAndTheHashIsNotTheToken(t *testing.T) {
	r := start(t, server.Config{}, nil)
	if r.token == "" {
		t.Fatal("first start did not hand out a token")
	}
	if len(r.token) != 43 { // 32 bytes, base64url without padding
		t.Fatalf("token of length %d, want 43", len(r.token))
	}
	for _, p := range []string{r.home.ServerSocket(), r.home.TokenFile(), r.home.TokenHashFile()} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(r.home.ServerSocket()); fi.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is not a socket", r.home.ServerSocket())
	}
	tok, _ := os.ReadFile(r.home.TokenFile())
	if strings.TrimSpace(string(tok)) != r.token {
		t.Fatal("token file does not hold the token that was handed out")
	}
	hash, _ := os.ReadFile(r.home.TokenHashFile())
	if strings.Contains(string(hash), r.token) || len(strings.TrimSpace(string(hash))) != 64 {
		t.Fatalf("hash file holds %q: want only a hex sha256", hash)
	}
}

func TestRestartKeepsTokenAndRotationReplacesIt(t *testing.T) {
	first := start(t, server.Config{}, nil)
	h := first.home
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.ServerSocket()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after a clean stop: %v", err)
	}

	again := start(t, server.Config{Home: h}, nil)
	if !first.shown || again.shown || again.token != first.token {
		t.Fatal("the token must be handed out on the first start only, and kept across restarts")
	}
	if resp := call(t, again, "GET", "/v1/version", first.token, ""); resp.StatusCode != 200 {
		t.Fatalf("old token after restart: %d", resp.StatusCode)
	}
	if _, err := server.RotateToken(h); !errors.Is(err, server.ErrAlreadyRunning) {
		t.Fatalf("rotating under a live server: %v, want ErrAlreadyRunning", err)
	}
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}

	rotated := start(t, server.Config{Home: h, RotateToken: true}, nil)
	if !rotated.shown || rotated.token == first.token {
		t.Fatal("rotation did not hand out a new token")
	}
	if resp := call(t, rotated, "GET", "/v1/version", first.token, ""); resp.StatusCode != 401 {
		t.Fatalf("old token after rotation: %d, want 401", resp.StatusCode)
	}
	if resp := call(t, rotated, "GET", "/v1/version", rotated.token, ""); resp.StatusCode != 200 {
		t.Fatalf("new token after rotation: %d, want 200", resp.StatusCode)
	}
}

func TestEnsureTokenCreatesOnce(t *testing.T) {
	h := shortHome(t)
	tok, created, err := server.EnsureToken(h)
	if err != nil || !created || tok == "" {
		t.Fatalf("first EnsureToken: %q %v %v", tok, created, err)
	}
	tok2, created2, err := server.EnsureToken(h)
	if err != nil || created2 || tok2 != "" {
		t.Fatalf("second EnsureToken: %q %v %v — want nothing new", tok2, created2, err)
	}
	r := start(t, server.Config{Home: h}, nil)
	if r.shown || r.token != tok {
		t.Fatal("server replaced or re-showed a token EnsureToken had created")
	}
}

func TestSecondServerOnTheSameHomeIsRefused(t *testing.T) {
	r := start(t, server.Config{}, nil)
	err := server.New(server.Config{Home: r.home}).Serve(context.Background())
	want := fmt.Sprintf("a ferry server is already running (pid %d)", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, server.ErrAlreadyRunning) {
		t.Fatalf("second server: %v, want %q", err, want)
	}
	if resp := call(t, r, "GET", "/v1/version", r.token, ""); resp.StatusCode != 200 {
		t.Fatalf("first server after the refused second: %d", resp.StatusCode)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	h := shortHome(t)
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", h.ServerSocket())
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a dead server's socket: the file stays, nobody listens
	if _, err := os.Stat(h.ServerSocket()); err != nil {
		t.Fatal(err)
	}
	r := start(t, server.Config{Home: h}, nil)
	if resp := call(t, r, "GET", "/v1/version", r.token, ""); resp.StatusCode != 200 {
		t.Fatalf("over the replaced socket: %d", resp.StatusCode)
	}
}

func TestNonSocketInTheWayIsReported(t *testing.T) {
	h := shortHome(t)
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.ServerSocket(), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := server.New(server.Config{Home: h}).Serve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a socket") || !strings.Contains(err.Error(), h.ServerSocket()) {
		t.Fatalf("got %v, want an error naming the file", err)
	}
	if b, _ := os.ReadFile(h.ServerSocket()); string(b) != "mine" {
		t.Fatal("the file in the way was changed")
	}
}

func TestBadListenAddressIsNamed(t *testing.T) {
	err := server.New(server.Config{Home: shortHome(t), Listen: "127.0.0.1:notaport"}).Serve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--listen 127.0.0.1:notaport") {
		t.Fatalf("got %v", err)
	}
}

func TestVersionThroughTheClient(t *testing.T) {
	r := start(t, server.Config{Version: "9.9"}, nil)
	var v wire.Version
	if err := newClient(t, r).Do(context.Background(), "GET", "/v1/version", nil, &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "9.9" || !strings.HasPrefix(v.Go, "go") {
		t.Fatalf("version: %+v", v)
	}
}
