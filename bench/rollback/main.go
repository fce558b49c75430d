// Command rollback measures a traffic rollback: the time from the deploy
// engine's analysis decision to 100% of traffic on the stable group.
//
//	go run ./bench/rollback [-rounds 200]
//
// It runs a real router in process (its table committed to a state file as
// `ferry router` does, its admin API on a unix socket) with two groups of one
// target each, "r1" (stable) and "r2" (a canary at 20%). Each round resets
// the split to 80/20, then times deploy.Reconcile on the snapshot whose
// sample reaches failure_limit plus the executor's one SetWeights call over
// the admin socket, as the controller performs it; after the call, 50
// requests through the router must all reach the stable target (checked,
// not timed). It prints the median, p99 and maximum (target: under 10 ms).
//
// It measures; it is not a test. Nothing leaves 127.0.0.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

const service = "bench/production/web"

func main() {
	rounds := flag.Int("rounds", 200, "rollbacks to time")
	flag.Parse()
	log.SetFlags(0)
	for _, durable := range []bool{true, false} {
		took := measure(*rounds, durable)
		slices.Sort(took)
		q := func(p float64) time.Duration { return took[int(p*float64(len(took)-1))] }
		what := "acknowledged, table fsynced"
		if !durable {
			what = "switched, no state file"
		}
		fmt.Printf("rollback decision → 100%% on stable, %s (%d rounds): median %s, p99 %s, max %s (target < 10ms)\n",
			what, len(took), q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
	}
}

func measure(rounds int, durable bool) []time.Duration {
	dir, err := os.MkdirTemp("", "ferry-rollback")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	state := ""
	if durable {
		state = filepath.Join(dir, "router.json")
	}
	rt, err := router.New(router.Options{StatePath: state, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	proxy := listen("tcp", "127.0.0.1:0")
	defer proxy.Close()
	go rt.NewServer().Serve(proxy)
	sock := filepath.Join(dir, "admin.sock")
	admin := listen("unix", sock)
	defer admin.Close()
	go http.Serve(admin, rt.AdminHandler())
	rc := client.New(sock)
	ctx := context.Background()

	must(rc.PutService(ctx, api.Service{Name: service, Routes: []api.Route{{Host: "bench.localhost"}},
		Health: api.HealthCheck{Path: "/", Interval: 100 * time.Millisecond, HealthyThreshold: 1}}))
	for _, g := range []string{"r1", "r2"} {
		must(rc.AddTarget(ctx, service, g, api.Target{ID: g, Addr: backend(g)}))
	}
	waitHealthy(ctx, rc)

	s := snapshot()
	var took []time.Duration
	for range rounds {
		must(rc.SetWeights(ctx, service, map[string]int{"r1": 80, "r2": 20}))
		start := time.Now()
		plan := deploy.Reconcile(s)
		sw := firstWeights(plan)
		must(rc.SetWeights(ctx, service, map[string]int{"r1": sw.Weights["r1"], "r2": sw.Weights["r2"]}))
		took = append(took, time.Since(start))
		for range 50 {
			if got := ask(proxy.Addr().String()); got != "r1" {
				log.Fatalf("after the rollback a request reached %q, want the stable r1", got)
			}
		}
	}
	return took
}

// snapshot is a canary at 20% whose newest sample is its failure_limit-th
// failure.
func snapshot() deploy.ServiceState {
	t0 := time.Now()
	a := &deploy.Analysis{MaxErrorRate: 5, MinRequests: 20, Interval: 5 * time.Second, FailureLimit: 2}
	return deploy.ServiceState{Service: "web", Now: t0, Count: 1, Live: 1,
		Params: deploy.Params{Strategy: deploy.StrategyCanary, Steps: []deploy.Step{{Weight: 20, Pause: time.Hour}}, Analysis: a},
		Router: &deploy.RouterView{Weights: map[string]int{"r1": 80, "r2": 20}},
		Status: deploy.ServiceStatus{Seq: 2, Group: "r1"},
		Tasks: []deploy.Task{
			{ID: "web-r1-1", Revision: 1, State: deploy.TaskHealthy, Group: "r1", HealthySince: t0.Add(-time.Hour)},
			{ID: "web-r2-2", Revision: 2, State: deploy.TaskHealthy, Group: "r2", HealthySince: t0.Add(-time.Minute)},
		},
		Deployments: []deploy.Deployment{{ID: "1", To: 2, Status: deploy.Status{State: deploy.DeployInProgress, From: 1, Target: 2,
			Group: "r2", Stable: "r1", Weight: 20, Applied: true, StepAt: t0.Add(-20 * time.Second), ProgressAt: t0.Add(-20 * time.Second),
			Analysis: deploy.AnalysisStatus{Group: "r2", Since: t0.Add(-20 * time.Second), Checks: 1, Failures: 1,
				Last: deploy.Sample{At: t0.Add(-5 * time.Second)}}}}},
		Samples: map[string]deploy.Sample{"r2": {At: t0, Requests: 400, Errors: 80}},
	}
}

func firstWeights(p deploy.Plan) deploy.SetWeights {
	for _, a := range p.Actions {
		if sw, ok := a.(deploy.SetWeights); ok {
			if sw.Weights["r1"] != 100 {
				log.Fatalf("the rollback's weights are %v, want r1 at 100", sw.Weights)
			}
			return sw
		}
	}
	log.Fatal("the engine decided no rollback")
	return deploy.SetWeights{}
}

func backend(name string) string {
	ln := listen("tcp", "127.0.0.1:0")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }))
	return ln.Addr().String()
}

func ask(addr string) string {
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "bench.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitHealthy(ctx context.Context, rc *client.Client) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st, err := rc.Service(ctx, service)
		must(err)
		healthy := 0
		for _, g := range st.Groups {
			for _, t := range g.Targets {
				if t.Health == api.TargetHealthy {
					healthy++
				}
			}
		}
		if healthy == 2 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatal("the targets did not turn healthy within 10s")
}

func listen(network, addr string) net.Listener {
	ln, err := net.Listen(network, addr)
	must(err)
	return ln
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
