package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

// restartRouter is a `ferry router` whose output goes to a file, so that it
// outlives the process that started it: successors write there too.
type restartRouter struct {
	addr, sock, log string
	first           *exec.Cmd
	firstDone       chan struct{}
}

var (
	listenLineRe = regexp.MustCompile(`msg="router: listening" addr=(\S+)`)
	handedOverRe = regexp.MustCompile(`msg="router: handed over to a new process" pid=(\d+)`)
)

func startRestartableRouter(t *testing.T, bin, home string) *restartRouter {
	t.Helper()
	r := &restartRouter{sock: filepath.Join(home, "router.sock"), log: filepath.Join(home, "router.out"), firstDone: make(chan struct{})}
	out, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	r.first = exec.Command(bin, "router", "--listen", "127.0.0.1:0")
	r.first.Env = append(os.Environ(), "FERRY_HOME="+home)
	r.first.Stdout, r.first.Stderr = out, out
	if err := r.first.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.first.Wait(); close(r.firstDone) }()
	t.Cleanup(func() { r.first.Process.Kill() })
	eventually(t, 20*time.Second, "the router listening", func() (bool, string) {
		b, _ := os.ReadFile(r.log)
		if m := listenLineRe.FindSubmatch(b); m != nil {
			r.addr = string(m[1])
			return true, ""
		}
		return false, string(b)
	})
	return r
}

// stopPID stops a router that is not our child: SIGTERM, then wait until
// it is gone.
func stopPID(t *testing.T, pid int) {
	t.Helper()
	syscall.Kill(pid, syscall.SIGTERM)
	eventually(t, 20*time.Second, fmt.Sprintf("router pid %d to exit after SIGTERM", pid), func() (bool, string) {
		return processGone(pid), ""
	})
}

// processGone: pid has exited (a zombie awaiting its parent counts).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// backend is a target: it answers GET with its name (after 200ms on /slow,
// so that requests are in flight whenever the router restarts) and echoes
// POST bodies.
func backend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// All of it before answering: net/http may stop reading an
			// HTTP/1.1 body once the response has started.
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Write(b)
			return
		}
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// loadStats counts the load's outcomes; the first failures are kept.
type loadStats struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
}

func (s *loadStats) fail(format string, a ...any) {
	s.failed.Add(1)
	s.mu.Lock()
	if len(s.errs) < 10 {
		s.errs = append(s.errs, fmt.Sprintf(format, a...))
	}
	s.mu.Unlock()
}

// runLoad sends requests through addr from workers keep-alive clients until
// stop is closed: GETs (the fast path; worker 0's slow ones) and, every
// third request, a POST with a body (the general path). The POSTs carry an Idempotency-Key, which lets
// the client resend one whose kept-alive connection the server closed
// before reading it, as RFC 9110 §9.2.2 and Go's transport allow: that is
// how every HTTP/1.1 proxy's graceful restart closes idle connections.
func runLoad(addr, host string, workers int, stop <-chan struct{}, s *loadStats) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer hc.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var req *http.Request
				want := ""
				if i%3 == 2 {
					want = fmt.Sprintf("worker %d request %d %s", w, i, strings.Repeat("x", 512))
					req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/echo", bytes.NewReader([]byte(want)))
					req.Header.Set("Idempotency-Key", fmt.Sprintf("%d-%d", w, i))
				} else if w == 0 {
					req, _ = http.NewRequest(http.MethodGet, "http://"+addr+"/slow", nil)
				} else {
					req, _ = http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				}
				req.Host = host
				resp, err := hc.Do(req)
				if err != nil {
					s.fail("%s: %v", req.Method, err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					s.fail("%s: reading the body: %v", req.Method, err)
				case resp.StatusCode != http.StatusOK:
					s.fail("%s: status %d: %s", req.Method, resp.StatusCode, b)
				case want != "" && string(b) != want:
					s.fail("POST: echoed %d bytes, want %d", len(b), len(want))
				case want == "" && string(b) != "a" && string(b) != "b":
					s.fail("GET: body %q", b)
				default:
					s.ok.Add(1)
				}
			}
		}()
	}
	return &wg
}

// TestRouterRestartsUnderLoadWithoutFailing restarts the router five times
// (`ferry router restart`, once SIGUSR2) while five clients keep sending requests through
// it: every request succeeds, each restart gives a new process that serves
// the same table with its targets healthy, the admin socket follows and
// the old process exits.
func TestRouterRestartsUnderLoadWithoutFailing(t *testing.T) {
	home, err := os.MkdirTemp("", "fyr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	r := startRestartableRouter(t, ferryBin, home)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := client.New(r.sock)
	svc := api.Service{Name: "shop/production/web", Routes: []api.Route{{Host: "shop.localhost"}},
		Health: api.HealthCheck{Path: "/", Interval: 100 * time.Millisecond}}
	if err := c.PutService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	targets := []api.Target{{ID: "a", Addr: backend(t, "a")}, {ID: "b", Addr: backend(t, "b")}}
	if err := c.SetTargets(ctx, svc.Name, "r1", targets); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWeights(ctx, svc.Name, map[string]int{"r1": 100}); err != nil {
		t.Fatal(err)
	}
	healthy := func() (bool, string) {
		st, err := c.Service(ctx, svc.Name)
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range st.Groups {
			for _, tg := range g.Targets {
				if tg.Health == api.TargetHealthy {
					n++
				}
			}
		}
		return n == 2, fmt.Sprintf("%+v", st.Groups)
	}
	eventually(t, 10*time.Second, "both targets healthy", healthy)

	var stats loadStats
	stop := make(chan struct{})
	wg := runLoad(r.addr, "shop.localhost", 5, stop, &stats)
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	progress := func(what string) {
		t.Helper()
		from := stats.ok.Load()
		eventually(t, 20*time.Second, what, func() (bool, string) {
			return stats.ok.Load() >= from+300, fmt.Sprintf("ok %d failed %d %v", stats.ok.Load(), stats.failed.Load(), stats.errs)
		})
	}
	progress("load flowing before the first restart")

	pid := r.first.Process.Pid
	for i := range 5 {
		var rs api.Restarted
		if i == 2 { // the signal instead of the command
			syscall.Kill(pid, syscall.SIGUSR2)
			eventually(t, 20*time.Second, "the hand-over after SIGUSR2", func() (bool, string) {
				b, _ := os.ReadFile(r.log)
				m := handedOverRe.FindAllSubmatch(b, -1)
				if len(m) != i+1 {
					return false, fmt.Sprintf("%d hand-overs logged", len(m))
				}
				rs = api.Restarted{OldPID: pid}
				fmt.Sscan(string(m[i][1]), &rs.PID)
				return true, ""
			})
		} else {
			res := mustFerry(t, home, home, nil, "router", "restart", "-o", "json")
			if err := json.Unmarshal([]byte(res.Stdout), &rs); err != nil {
				t.Fatalf("restart %d: %v in %q", i+1, err, res.Stdout)
			}
		}
		if rs.OldPID != pid || rs.PID == pid || rs.PID <= 0 {
			t.Fatalf("restart %d: %+v, old pid should be %d", i+1, rs, pid)
		}
		if i == 0 {
			select {
			case <-r.firstDone:
			case <-time.After(20 * time.Second):
				t.Fatal("the first router did not exit after handing over")
			}
			if code := r.first.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("the first router exited %d after handing over", code)
			}
		} else {
			old := pid
			eventually(t, 20*time.Second, fmt.Sprintf("old router pid %d to exit", old), func() (bool, string) { return processGone(old), "" })
		}
		pid = rs.PID
		t.Cleanup(func() { syscall.Kill(rs.PID, syscall.SIGKILL) })
		if ok, why := healthy(); !ok {
			t.Fatalf("after restart %d the targets are not healthy at once: %s", i+1, why)
		}
		progress(fmt.Sprintf("load flowing after restart %d", i+1))
	}
	stopLoad()
	t.Logf("5 restarts under load: %d requests succeeded, %d failed", stats.ok.Load(), stats.failed.Load())
	if n := stats.failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed across 5 restarts; first: %v", n, n+stats.ok.Load(), stats.errs)
	}
	// The table is intact and changes still apply, now in the fifth successor.
	if err := c.SetWeights(ctx, svc.Name, map[string]int{"r1": 50}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Service(ctx, svc.Name); err != nil || st.Groups[0].Weight != 50 {
		t.Fatalf("after 5 restarts: %+v %v", st, err)
	}
	b, _ := os.ReadFile(r.log)
	if n := strings.Count(string(b), `msg="router: handed over to a new process"`); n != 5 {
		t.Fatalf("%d hand-overs logged, want 5:\n%s", n, b)
	}
	stopPID(t, pid)
	if _, err := os.Stat(r.sock); !os.IsNotExist(err) {
		t.Fatalf("admin socket left after the last router stopped: %v", err)
	}
}

// TestRouterRestartFailureKeepsTheOldOne: when the new process cannot start
// (here its binary is gone), the restart fails with a message saying so
// and the old router goes on serving and taking changes.
func TestRouterRestartFailureKeepsTheOldOne(t *testing.T) {
	home, err := os.MkdirTemp("", "fyr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	bin := filepath.Join(home, "ferry-copy")
	data, err := os.ReadFile(ferryBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o700); err != nil {
		t.Fatal(err)
	}
	r := startRestartableRouter(t, bin, home)
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	res := ferry(t, home, home, nil, "router", "restart")
	if res.Code == 0 || !strings.Contains(res.Stderr, "restart") || !strings.Contains(res.Stderr, "ferry-copy") {
		t.Fatalf("restart with the binary gone: exit %d, stderr %q", res.Code, res.Stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := client.New(r.sock)
	svc := api.Service{Name: "shop/production/web", Routes: []api.Route{{Host: "shop.localhost"}}}
	if err := c.PutService(ctx, svc); err != nil {
		t.Fatalf("the old router refuses changes after a failed restart: %v", err)
	}
	select {
	case <-r.firstDone:
		t.Fatal("the old router exited after a failed restart")
	default:
	}
	stopPID(t, r.first.Process.Pid)
}
