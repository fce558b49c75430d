package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

// TestRouterKilledServesAtOnceOnRestart: `kill -9` of the router under
// constant load, then a new router on the same address and state file.
// Requests fail to connect while no router listens, but every request the
// new router answers is a 200: its restored targets, healthy when it died,
// are checked at once and re-admitted by one pass, and requests that come
// before that check are held for it instead of getting 503. The targets'
// checks run every second with two passes to become healthy, so without
// this the first second or so would be all 503s.
func TestRouterKilledServesAtOnceOnRestart(t *testing.T) {
	home := t.TempDir()
	r1 := startRouterProcess(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := client.New(r1.sock)
	svc := api.Service{Name: "shop/production/web", Routes: []api.Route{{Host: "shop.localhost"}},
		Health: api.HealthCheck{Path: "/", Interval: time.Second, HealthyThreshold: 2}}
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
	statePath := filepath.Join(home, "router.state.json")
	eventually(t, 10*time.Second, "the state file to record both targets healthy", func() (bool, string) {
		b, err := os.ReadFile(statePath)
		if err != nil {
			return false, err.Error()
		}
		var st struct {
			Services []struct {
				Groups []struct {
					Targets []struct {
						Health api.TargetHealth `json:"health"`
					} `json:"targets"`
				} `json:"groups"`
			} `json:"services"`
		}
		if err := json.Unmarshal(b, &st); err != nil || len(st.Services) != 1 || len(st.Services[0].Groups) != 1 {
			return false, string(b)
		}
		n := 0
		for _, tg := range st.Services[0].Groups[0].Targets {
			if tg.Health == api.TargetHealthy {
				n++
			}
		}
		return n == 2, string(b)
	})

	var ok, refused atomic.Int64
	var mu sync.Mutex
	var bad []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer hc.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, "http://"+r1.addr+"/", nil)
				req.Host = "shop.localhost"
				resp, err := hc.Do(req)
				if err != nil { // no router listening (or the killed one's connection reset)
					refused.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s %d %q", time.Now().Format("15:04:05.000"), resp.StatusCode, body))
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	progress := func(what string, n int64) {
		t.Helper()
		from := ok.Load()
		eventually(t, 20*time.Second, what, func() (bool, string) {
			return ok.Load() >= from+n, fmt.Sprintf("ok %d", ok.Load())
		})
	}
	progress("load flowing through the first router", 200)

	if err := r1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r1.errCh
	r2 := startRouterProcess(t, home, "--listen", r1.addr)
	restarted := time.Now()
	progress("load flowing through the restarted router", 200)
	// Past the two check intervals that a target restored as "initial"
	// would need.
	time.Sleep(time.Until(restarted.Add(2500 * time.Millisecond)))
	stopLoad()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("kill -9 and restart under load: %d requests answered 200, %d found no router, %d other answers", ok.Load(), refused.Load(), len(bad))
	if len(bad) > 0 {
		t.Fatalf("%d requests the restarted router answered failed; first: %v", len(bad), bad[:min(len(bad), 5)])
	}
	st, err := client.New(r2.sock).Service(ctx, svc.Name)
	if err != nil || len(st.Groups) != 1 || len(st.Groups[0].Targets) != 2 {
		t.Fatalf("restored table: %+v %v", st, err)
	}
	r2.stop(t)
}
