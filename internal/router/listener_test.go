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

// TestWebSocketUpgrade passes an Upgrade handshake and then raw bytes both
// ways, as a WebSocket would.
func TestWebSocketUpgrade(t *testing.T) {
	rt, base := startRouter(t, Options{})
	b := newBackend(t, "ws")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	})
	mustSetup(t, rt, api.Service{Name: "ws", Routes: []api.Route{{Host: "ws.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Fatalf("after upgrade read %q, %v", line, err)
	}
}

// TestSSEFlushedAsItComes: the client sees the first event before the
// backend writes the second.
func TestSSEFlushedAsItComes(t *testing.T) {
	rt, base := startRouter(t, Options{})
	b := newBackend(t, "sse")
	next := make(chan struct{})
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "data: two\n\n")
	})
	mustSetup(t, rt, api.Service{Name: "sse", Routes: []api.Route{{Host: "sse.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	req, _ := http.NewRequest(http.MethodGet, base+"/events", nil)
	req.Host = "sse.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	got := make(chan string, 1)
	go func() {
		l, _ := br.ReadString('\n')
		got <- l
	}()
	select {
	case l := <-got:
		if l != "data: one\n" {
			t.Fatalf("first event %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first event not flushed while the stream is open")
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: two") {
		t.Fatalf("rest of stream %q", rest)
	}
}

func TestLimits(t *testing.T) {
	rt, base := startRouter(t, Options{MaxBodyBytes: 1024, MaxHeaderBytes: 4096})
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		w.Write([]byte(strings.Repeat("x", int(n%10))))
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	post := func(body io.Reader, size int64) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/upload", body)
		req.Host = "web.test"
		req.ContentLength = size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(strings.NewReader(strings.Repeat("a", 1000)), 1000); code != 200 {
		t.Errorf("body under the limit: %d", code)
	}
	if code := post(strings.NewReader(strings.Repeat("a", 2000)), 2000); code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared body over the limit: %d, want 413", code)
	}
	// Chunked (length unknown): cut while streaming.
	if code := post(io.MultiReader(strings.NewReader(strings.Repeat("a", 4000))), -1); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d, want 413", code)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Host = "web.test"
	req.Header.Set("X-Big", strings.Repeat("h", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %d, want 431", resp.StatusCode)
	}
}

// TestSlowlorisIsDropped: a client that never finishes its headers is
// disconnected after ReadHeaderTimeout.
func TestSlowlorisIsDropped(t *testing.T) {
	_, base := startRouter(t, Options{ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: web.test\r\nX-A: 1\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("router kept the slow client for 5s")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("slow client dropped after %s", d)
	}
}

// TestForwardedHeaders: X-Forwarded-*, a request id, and hop-by-hop headers
// removed both ways, on the fast path and on the general path (which a
// Connection header naming another header leads to).
func TestForwardedHeaders(t *testing.T) {
	rt, srv, base := startServer(t, Options{})
	b := newBackend(t, "b")
	seen := make(chan http.Header, 2)
	hosts := make(chan string, 2)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		hosts <- r.Host
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Connection", "close")
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	for _, tc := range []struct {
		path     string
		extra    []string
		handoffs int64
	}{
		{"fast", nil, 0},
		{"general", []string{"Connection", "X-Hop", "X-Hop", "1"}, 1},
	} {
		hdr := append([]string{"X-Forwarded-For", "10.0.0.1", "X-Forwarded-Host", "spoofed"}, tc.extra...)
		_, _, rh := get(t, &http.Client{Transport: &http.Transport{}}, base, "web.test", "/", hdr...)
		h := <-seen
		if got := h.Get("X-Forwarded-For"); got != "10.0.0.1, 127.0.0.1" {
			t.Errorf("%s: X-Forwarded-For %q", tc.path, got)
		}
		if h.Get("X-Forwarded-Host") != "web.test" || h.Get("X-Forwarded-Proto") != "http" {
			t.Errorf("%s: X-Forwarded-Host/Proto %q %q", tc.path, h.Get("X-Forwarded-Host"), h.Get("X-Forwarded-Proto"))
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", tc.path)
		}
		if h.Get("X-Hop") != "" {
			t.Errorf("%s: hop-by-hop header named by Connection reached the target", tc.path)
		}
		if host := <-hosts; host != "web.test" {
			t.Errorf("%s: target saw Host %q", tc.path, host)
		}
		if rh.Get("Keep-Alive") != "" {
			t.Errorf("%s: hop-by-hop response header reached the client: %v", tc.path, rh)
		}
		if n := srv.handedOff.Load(); n != tc.handoffs {
			t.Errorf("%s: %d connections handed off, want %d", tc.path, n, tc.handoffs)
		}
	}
	get(t, http.DefaultClient, base, "web.test", "/", "X-Request-Id", "abc")
	if got := (<-seen).Get("X-Request-Id"); got != "abc" {
		t.Errorf("client's request id replaced by %q", got)
	}
	<-hosts
}
