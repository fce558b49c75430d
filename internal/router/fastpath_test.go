package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// rawConn is a client speaking HTTP/1.1 by hand over one connection.
func rawConn(t *testing.T, base string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func readResp(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestFastPathKeepAliveAndPipelining: plain GETs stay on the fast path,
// pipelined requests are answered in order on one connection.
func TestFastPathKeepAliveAndPipelining(t *testing.T) {
	rt, srv, base := startServer(t, Options{})
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.RequestURI()) })
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	c, br := rawConn(t, base)
	io.WriteString(c, "GET /one HTTP/1.1\r\nHost: web.test\r\n\r\nGET /two?x=1 HTTP/1.1\r\nHost: web.test\r\n\r\n")
	for _, want := range []string{"/one", "/two?x=1"} {
		if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != want {
			t.Fatalf("pipelined %s: %d %q", want, resp.StatusCode, body)
		}
	}
	io.WriteString(c, "HEAD /three HTTP/1.1\r\nHost: web.test\r\n\r\n")
	if resp, body := readResp(t, br, "HEAD"); resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len("/three")) {
		t.Fatalf("HEAD: %d %q length %d", resp.StatusCode, body, resp.ContentLength)
	}
	io.WriteString(c, "GET /last HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n")
	if resp, body := readResp(t, br, "GET"); body != "/last" || !resp.Close {
		t.Fatalf("Connection: close request: %q close=%v", body, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection left open after Connection: close (%v)", err)
	}
	if n := srv.handedOff.Load(); n != 0 {
		t.Fatalf("%d connections left the fast path", n)
	}
}

// TestFastPathHandsOffMidConnection: a POST after GETs on one connection
// moves it to net/http, which reads the body the fast path left unread.
func TestFastPathHandsOffMidConnection(t *testing.T) {
	rt, srv, base := startServer(t, Options{})
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+string(body))
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	c, br := rawConn(t, base)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: web.test\r\n\r\n")
	if _, body := readResp(t, br, "GET"); body != "GET " {
		t.Fatalf("GET: %q", body)
	}
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\n\r\nhello")
	if _, body := readResp(t, br, "POST"); body != "POST hello" {
		t.Fatalf("POST: %q", body)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: web.test\r\n\r\n")
	if _, body := readResp(t, br, "GET"); body != "GET " {
		t.Fatalf("GET after POST: %q", body)
	}
	if n := srv.handedOff.Load(); n != 1 {
		t.Fatalf("handed off %d connections, want 1", n)
	}
}

// TestFastPathResponseFraming relays chunked, close-delimited and 304
// responses and strips hop-by-hop response headers.
func TestFastPathResponseFraming(t *testing.T) {
	rt, _, base := startServer(t, Options{})
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "part1-")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Sum", "42")
		case "/close":
			conn, brw, _ := http.NewResponseController(w).Hijack()
			brw.WriteString("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\n\r\nuntil the end")
			brw.Flush()
			conn.Close()
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		}
	})
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
	c, br := rawConn(t, base)
	io.WriteString(c, "GET /chunked HTTP/1.1\r\nHost: web.test\r\n\r\n")
	resp, body := readResp(t, br, "GET")
	if body != "part1-part2" || resp.Trailer.Get("X-Sum") != "42" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("chunked: %q trailer %v te %v", body, resp.Trailer, resp.TransferEncoding)
	}
	io.WriteString(c, "GET /304 HTTP/1.1\r\nHost: web.test\r\n\r\n")
	if resp, body := readResp(t, br, "GET"); resp.StatusCode != 304 || body != "" {
		t.Fatalf("304: %d %q", resp.StatusCode, body)
	}
	io.WriteString(c, "GET /close HTTP/1.1\r\nHost: web.test\r\n\r\n")
	resp, body = readResp(t, br, "GET")
	if body != "until the end" || !resp.Close || resp.Header.Get("Keep-Alive") != "" {
		t.Fatalf("close-delimited: %q close=%v header %v", body, resp.Close, resp.Header)
	}
}

// TestFastPathStaleUpstreamConnection: a target that closes idle keep-alive
// connections costs no failed request: the router sends again on a new one.
func TestFastPathStaleUpstreamConnection(t *testing.T) {
	rt, base := startRouter(t, Options{})
	closed := make(chan struct{}, 16)
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	b.Start()
	defer b.Close()
	hc := api.HealthCheck{Interval: time.Hour, HealthyThreshold: 1} // TCP checks, once
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddTarget("web", "v1", api.Target{ID: "b", Addr: b.Listener.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, rt, "web")
	<-closed // the TCP health check's connection
	if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "ok" {
		t.Fatalf("first: %d %q", code, body)
	}
	b.CloseClientConnections() // closes the router's pooled connection
	<-closed
	if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "ok" {
		t.Fatalf("on a stale pooled connection: %d %q", code, body)
	}
}
