package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

// runningRouter is a `ferry router` process.
type runningRouter struct {
	cmd         *exec.Cmd
	addr        string
	metricsAddr string
	sock        string
	errCh       chan error
}

var (
	listeningRe = regexp.MustCompile(`msg="router: listening" addr=(\S+)`)
	metricsRe   = regexp.MustCompile(`msg="router: metrics" addr=(\S+)`)
)

func startRouterProcess(t *testing.T, home string, extra ...string) *runningRouter {
	t.Helper()
	sock := filepath.Join(home, "router.sock")
	cmd := exec.Command(ferryBin, append([]string{"router", "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Env = append(os.Environ(), "FERRY_HOME="+home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &runningRouter{cmd: cmd, sock: sock, errCh: make(chan error, 1)}
	addr := make(chan string, 1)
	metrics := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			if m := metricsRe.FindStringSubmatch(sc.Text()); m != nil {
				metrics <- m[1]
			}
		}
		r.errCh <- cmd.Wait()
	}()
	select {
	case r.addr = <-addr:
		select {
		case r.metricsAddr = <-metrics:
		default:
		}
	case err := <-r.errCh:
		t.Fatalf("ferry router exited: %v", err)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ferry router did not start listening")
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return r
}

// stop sends SIGTERM and expects exit 0.
func (r *runningRouter) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.errCh:
		if err != nil {
			t.Fatalf("ferry router after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ferry router did not exit after SIGTERM")
	}
}

// TestRouterProcess drives the real binary: configure it through the
// socket, proxy through it, stop it with SIGTERM (exit 0), start it again
// and find the same table, its target checked again and serving.
func TestRouterProcess(t *testing.T) {
	home := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "from the app") })}
	go app.Serve(ln)
	defer app.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := startRouterProcess(t, home, "--metrics-listen", "127.0.0.1:0")
	if fi, err := os.Stat(r.sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", fi, err)
	}
	c := client.New(r.sock)
	svc := api.Service{Name: "shop/production/web", Routes: []api.Route{{Host: "shop.localhost"}},
		Health: api.HealthCheck{Path: "/", Interval: 50 * time.Millisecond}}
	if err := c.PutService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTarget(ctx, svc.Name, "r1", api.Target{ID: "task-1", Addr: ln.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	waitServing := func(addr string) {
		t.Helper()
		for {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
			req.Host = "shop.localhost"
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && string(b) == "from the app" {
					return
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("router at %s never served the app: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitServing(r.addr)
	resp, err := http.Get("http://" + r.metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("metrics at %q: %v", r.metricsAddr, err)
	}
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(exposition), `ferry_router_requests_total{service="shop/production/web",group="r1",code="2xx"}`) {
		t.Fatalf("exposition lacks the service's requests:\n%s", exposition)
	}
	r.stop(t)

	r2 := startRouterProcess(t, home)
	st, err := client.New(r2.sock).Service(ctx, svc.Name)
	if err != nil || len(st.Groups) != 1 || st.Groups[0].Targets[0].ID != "task-1" {
		t.Fatalf("after restart: %+v %v", st, err)
	}
	waitServing(r2.addr)
	r2.stop(t)
}

func TestRouterRefusesBadFlags(t *testing.T) {
	res := ferry(t, t.TempDir(), t.TempDir(), nil, "router", "--listen", "not-an-address")
	if res.Code == 0 {
		t.Fatalf("ferry router with a bad --listen exited 0")
	}
}
