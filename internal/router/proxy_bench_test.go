package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/router/api"
)

// BenchmarkProxyGET proxies 200-byte GETs over one keep-alive client
// connection through the fast path (or, with a body, the general path), to
// see the router's own cost per request with -benchmem and -cpuprofile.
func BenchmarkProxyGET(b *testing.B) {
	for _, bc := range []struct{ name, req string }{
		{"fast", "GET /x HTTP/1.1\r\nHost: web.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"},
		{"general", "POST /x HTTP/1.1\r\nHost: web.test\r\nUser-Agent: bench\r\nContent-Length: 2\r\n\r\nhi"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := strings.Repeat("x", 200)
			bl, _ := net.Listen("tcp", "127.0.0.1:0")
			bs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				io.WriteString(w, body)
			})}
			go bs.Serve(bl)
			defer bs.Close()
			rt, err := New(Options{Logger: quietLog})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			srv := rt.NewServer()
			go srv.Serve(ln)
			defer srv.Close()
			rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: api.HealthCheck{HealthyThreshold: 1}})
			rt.SetTargets("web", "v1", []api.Target{{ID: "b", Addr: bl.Addr().String()}})
			for rt.services["web"].groups[0].targets[0].state.Load() != stHealthy {
				runtime.Gosched()
			}
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := &http.Request{Method: "GET"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				io.WriteString(c, bc.req)
				resp, err := http.ReadResponse(br, req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}
