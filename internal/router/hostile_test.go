package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// hostileRouter serves one service with short timeouts and an 8 KiB head limit.
func hostileRouter(t *testing.T) string {
	t.Helper()
	rt, base := startRouter(t, Options{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, MaxHeaderBytes: 8 << 10})
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		io.WriteString(w, "b")
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	if err := rt.SetWeights("web", map[string]int{"v1": 100}); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(base, "http://")
}

// TestSlowClientsAreBounded: a client that sends its head or its body one
// byte at a time, forever, is cut off after the router's timeouts on the
// fast path, on the general path, and across the hand-off between them.
func TestSlowClientsAreBounded(t *testing.T) {
	addr := hostileRouter(t)
	for _, tc := range []struct{ name, prefix, trickle, answer string }{
		{"fast path head", "GET / HTTP/1.1\r\nHost: web.test\r\n", "X-A: 1\r\n", ""},
		// Over the fast path's 4 KiB buffer: handed to net/http mid-head.
		{"head handed off", "GET / HTTP/1.1\r\nHost: web.test\r\nX-Pad: " + strings.Repeat("p", 5000) + "\r\n", "X-A: 1\r\n", ""},
		{"general path body", "POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 100000\r\n\r\n", "x", "HTTP/1.1 408 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.prefix); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			var answer []byte
			go func() { // the router's side: read until it hangs up
				answer, _ = io.ReadAll(c)
				close(closed)
			}()
			start := time.Now()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			limit := time.After(5 * time.Second)
			for i := 0; ; i++ {
				select {
				case <-closed:
					t.Logf("cut off after %s", time.Since(start).Round(time.Millisecond))
					if !strings.HasPrefix(string(answer), tc.answer) {
						t.Fatalf("answer %q, want %q", answer, tc.answer)
					}
					return
				case <-limit:
					t.Fatalf("a slow client kept its connection for 5s (timeouts are 300ms)")
				case <-tick.C:
					c.Write([]byte{tc.trickle[i%len(tc.trickle)]})
				}
			}
		})
	}
}

// TestHeaderFloodsAreBounded: many headers under the limit leave the fast
// path for the general one and are served; heads over the limit, made of
// many lines, one huge line or an endless stream, get 431 and a closed
// connection without the router reading on.
func TestHeaderFloodsAreBounded(t *testing.T) {
	addr := hostileRouter(t)
	for _, tc := range []struct {
		name    string
		headers string
		want    int
	}{
		{"200 small headers", strings.Repeat("X-Flood: 0123456789\r\n", 200), 200},
		{"5000 small headers", strings.Repeat("X-Flood: 0123456789\r\n", 5000), http.StatusRequestHeaderFieldsTooLarge},
		{"one 100 KiB header", "X-Big: " + strings.Repeat("h", 100<<10) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"endless head", strings.Repeat("X-Flood: 0123456789\r\n", 400_000), http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			sent := make(chan error, 1)
			go func() {
				_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: web.test\r\n"+tc.headers+"\r\n")
				sent <- err
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.name == "endless head" {
				// 8 MB offered: the router stopped reading and hung up.
				if err := <-sent; err == nil {
					t.Fatal("the router read the whole 8 MB head")
				}
			}
		})
	}
}
