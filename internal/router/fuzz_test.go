package router

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// headSeeds are request heads the fast path sees in the wild and in attacks.
var headSeeds = []string{
	"GET / HTTP/1.1\r\nHost: web.test\r\n\r\n",
	"GET /a/b?x=1&y=%41 HTTP/1.1\r\nHost: web.test:8080\r\nConnection: close\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
	"HEAD /x HTTP/1.1\r\nhost: WEB.TEST\r\nCookie: ferry-group=v2\r\nX-Request-Id: abc\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: web.test\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: web.test\r\n X-Folded: yes\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : web.test\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: web.test\r\n\r\n",
	"GET / HTTP/1.1\nHost: web.test\n\n",
	"GET / HTTP/1.0\r\nHost: web.test\r\n\r\n",
	"GET http://evil/ HTTP/1.1\r\nHost: web.test\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\n\r\nhello",
	"GET / HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: web.test\r\nX: \x00\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: web.test\r\nConnection: upgrade, keep-alive\r\nUpgrade: websocket\r\n\r\n",
	"GET /" + strings.Repeat("a", 3000) + " HTTP/1.1\r\nHost: web.test\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: web.test\r\n" + strings.Repeat("X-A: 1\r\n", 70) + "\r\n",
	"\r\n\r\n",
}

// FuzzParseRequestHead: the fast path's request parser never panics, and
// whatever it accepts net/http reads the same way (method, target, host,
// close) — the fast path may refuse more, never accept differently.
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range headSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		i := bytes.Index(data, []byte("\r\n\r\n"))
		if i < 0 || i+4 > 4096 { // readHead's cut and buffer
			return
		}
		head := data[:i+4]
		var hs [maxFastHeaders]hdr
		var r fastReq
		if !parseRequestHead(head, &hs, &r) {
			return
		}
		switch string(r.method) {
		case "GET", "HEAD", "OPTIONS":
		default:
			t.Fatalf("accepted method %q", r.method)
		}
		if !bytes.HasPrefix(r.target, r.path) || len(r.path) == 0 || r.path[0] != '/' {
			t.Fatalf("path %q of target %q", r.path, r.target)
		}
		for _, h := range append(r.hdrs, hdr{name: []byte("Host"), value: r.host}) {
			if !isToken(h.name) || bytes.ContainsAny(h.value, "\r\n\x00") {
				t.Fatalf("header %q: %q passed on", h.name, h.value)
			}
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("fast path accepted a head net/http refuses (%v):\n%q", err, head)
		}
		if req.Method != string(r.method) || req.RequestURI != string(r.target) || req.Host != string(r.host) || req.Close != r.close {
			t.Fatalf("fast path read %q %q host %q close %v; net/http %q %q host %q close %v",
				r.method, r.target, r.host, r.close, req.Method, req.RequestURI, req.Host, req.Close)
		}
		if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
			t.Fatalf("fast path accepted a request with a body: %q", head)
		}
	})
}

// FuzzParseResponseHead: a hostile target's response head never panics the
// parser, and an accepted one has coherent framing.
func FuzzParseResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		i := bytes.Index(data, []byte("\r\n\r\n"))
		if i < 0 {
			return
		}
		var hs [maxRespHeaders]hdr
		var r fastResp
		if !parseResponseHead(data[:i+4], &hs, &r) {
			return
		}
		if r.status < 0 || r.status > 999 || r.contentLength < -1 || r.chunked && r.contentLength >= 0 {
			t.Fatalf("accepted status %d, length %d, chunked %v", r.status, r.contentLength, r.chunked)
		}
		for _, h := range r.hdrs {
			if foldEq(h.name, "content-length") || foldEq(h.name, "connection") {
				t.Fatalf("framing header %q relayed as is", h.name)
			}
		}
	})
}

// fuzzProxy is one router with one healthy target, shared by a fuzz
// function's iterations (starting one per input would dominate the run).
type fuzzProxy struct {
	addr string
	rt   *Router
}

func newFuzzProxy(f *testing.F) *fuzzProxy {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	f.Cleanup(backend.Close)
	rt, err := New(Options{Logger: quietLog, ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, MaxHeaderBytes: 8 << 10, MaxBodyBytes: 4 << 10})
	if err != nil {
		f.Fatal(err)
	}
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}); err != nil {
		f.Fatal(err)
	}
	if _, err := rt.SetTargets("web", "v1", []api.Target{{ID: "b", Addr: backend.Listener.Addr().String()}}); err != nil {
		f.Fatal(err)
	}
	if err := rt.SetWeights("web", map[string]int{"v1": 100}); err != nil {
		f.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv := rt.NewServer()
	go srv.Serve(ln)
	f.Cleanup(func() { srv.Close(); rt.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := rt.Service("web")
		if st.Groups[0].Targets[0].Health == api.TargetHealthy {
			break
		}
		if time.Now().After(deadline) {
			f.Fatal("fuzz target never healthy")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &fuzzProxy{addr: ln.Addr().String(), rt: rt}
}

// closing is the request each exchange ends with: the router must answer
// it (or have closed already) and close, whatever came before.
const closing = "GET / HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n"

// exchange writes raw bytes then the closing request, and reads everything
// until the router closes. It does not half-close: net/http takes a
// client's EOF for a client gone and cancels its request.
func (p *fuzzProxy) exchange(t *testing.T, data []byte) []byte {
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write(append(append([]byte{}, data...), closing...))
	out, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("router still holds the connection after 10s; sent %q, got %q", data, out)
	}
	return out
}

// FuzzProxyConnection sends arbitrary bytes to a live router (fast path,
// hand-off to the general path, both) and then a request asking to close:
// it never crashes, always closes (bounded by its timeouts), anything it
// answers is HTTP, and it still proxies a plain request afterwards.
func FuzzProxyConnection(f *testing.F) {
	for _, s := range headSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("POST /x HTTP/1.1\r\nHost: web.test\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: web.test\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: web.test\r\n\r\nGET / HTTP/1.1\r\nHost: web.test\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: web.test\r\nX-Big: " + strings.Repeat("h", 9000) + "\r\n\r\n"))
	p := newFuzzProxy(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out := p.exchange(t, data)
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.")) {
			t.Fatalf("answer to %q is not HTTP: %q", data, out)
		}
		if ok := p.exchange(t, nil); !bytes.HasPrefix(ok, []byte("HTTP/1.1 200 ")) {
			t.Fatalf("after %q a plain request got %q", data, ok)
		}
	})
}

// adminOps are the admin API's routes; the fuzzer picks one by index.
var adminOps = []struct{ method, path string }{
	{"PUT", "/v1/service"}, {"DELETE", "/v1/service"}, {"GET", "/v1/service"}, {"GET", "/v1/services"},
	{"PUT", "/v1/targets"}, {"POST", "/v1/target"}, {"DELETE", "/v1/target"}, {"DELETE", "/v1/group"},
	{"PUT", "/v1/weights"}, {"GET", "/v1/metrics"}, {"POST", "/v1/metrics/reset"},
}

// FuzzAdminAPI sends an arbitrary body and query to each admin route of a
// router holding one service: it never panics or answers 500, errors are
// JSON naming the problem, and whatever it accepted is a table the state
// file can restore (a router built from its snapshot starts).
func FuzzAdminAPI(f *testing.F) {
	seeds := []struct {
		op    uint8
		query string
		body  string
	}{
		{0, "", `{"name":"web2","routes":[{"host":"two.test","path_prefix":"/api"}],"health":{"path":"/h","interval":1000000,"status":"200-299"}}`},
		{0, "", `{"name":"web2","routes":[{"host":"web.test"}]}`},
		{0, "", `{"name":"web","routes":[{"host":"*.web.test"}],"rules":[{"header":"X-Canary","value":"1","group":"v2"}]}`},
		{0, "", `{"name":"","routes":[]}`},
		{0, "", `{"name":"x","routes":[{"host":"a b"}],"unknown":1}`},
		{1, "service=web", ""},
		{2, "service=nope", ""},
		{4, "service=web&group=v2", `[{"id":"t1","addr":"127.0.0.1:1"},{"id":"t2","addr":"127.0.0.1:2"}]`},
		{4, "service=web&group=v2", `[{"id":"t1","addr":"127.0.0.1:1"},{"id":"t1","addr":"127.0.0.1:2"}]`},
		{4, "service=web&group=", `[]`},
		{5, "service=web&group=v1", `{"id":"t3","addr":"localhost:99999"}`},
		{5, "service=web&group=v1", `{"id":"","addr":""}`},
		{6, "service=web&group=v1&target=t0", ""},
		{7, "service=web&group=v1", ""},
		{8, "service=web", `{"v1":50}`},
		{8, "service=web", `{"v1":101,"zz":3}`},
		{9, "service=web&window=-1s", ""},
		{9, "service=web&group=v1&window=30s", ""},
		{10, "service=web", ""},
		{0, "", `{"name":"web","routes":[{"host":"web.test"}]} trailing`},
		{4, "service=web&group=v1", strings.Repeat("[", 5000)},
	}
	for _, s := range seeds {
		f.Add(s.op, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, op uint8, query string, body []byte) {
		o := adminOps[int(op)%len(adminOps)]
		if !loopbackTargets(o.path, body) {
			return // health checks would dial it: no traffic leaves this machine
		}
		rt, err := New(Options{Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: api.HealthCheck{Interval: time.Hour}}); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.SetTargets("web", "v1", []api.Target{{ID: "t0", Addr: "127.0.0.1:1"}}); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(o.method, "http://router"+o.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		rt.AdminHandler().ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusNoContent:
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
			var e ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s?%s: error %d without a message: %q", o.method, o.path, query, w.Code, w.Body)
			}
		default:
			t.Fatalf("%s %s?%s %q: status %d: %s", o.method, o.path, query, body, w.Code, w.Body)
		}
		rt.mu.Lock()
		st := rt.snapshotState()
		rt.mu.Unlock()
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var back state
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		again, err := build(Options{Logger: quietLog}.withDefaults(), back, nil, "fuzz")
		if err != nil {
			t.Fatalf("after %s %s?%s %q the saved table does not load: %v", o.method, o.path, query, body, err)
		}
		again.Close()
	})
}

// loopbackTargets: a targets body (one or a list) whose addresses are all
// on this machine, or a body that names no target (other routes, or one
// the router will refuse anyway).
func loopbackTargets(path string, body []byte) bool {
	var ts []api.Target
	switch path {
	case "/v1/targets":
		if json.NewDecoder(bytes.NewReader(body)).Decode(&ts) != nil {
			return true
		}
	case "/v1/target":
		var one api.Target
		if json.NewDecoder(bytes.NewReader(body)).Decode(&one) != nil {
			return true
		}
		ts = append(ts, one)
	default:
		return true
	}
	for _, t := range ts {
		host, _, err := net.SplitHostPort(t.Addr)
		if err != nil {
			continue // refused by checkTarget
		}
		if host == "localhost" {
			continue
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}
