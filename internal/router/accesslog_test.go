package router

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ferrycd/ferry/internal/router/api"
)

// syncBuffer is a log sink safe for the router's goroutines.
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

// TestAccessLog: off by default; when on, one line per request on both paths.
func TestAccessLog(t *testing.T) {
	for _, on := range []bool{false, true} {
		var logs syncBuffer
		rt, base := startRouter(t, Options{AccessLog: on, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		b := newBackend(t, "b")
		mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {b}})
		get(t, http.DefaultClient, base, "web.test", "/fast-path")
		req, _ := http.NewRequest(http.MethodPost, base+"/general-path", strings.NewReader("x"))
		req.Host = "web.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out := logs.String()
		for _, path := range []string{"/fast-path", "/general-path"} {
			has := strings.Contains(out, "path="+path+" status=200")
			if has != on {
				t.Errorf("access log %v: line for %s present=%v\n%s", on, path, has, out)
			}
		}
	}
}
