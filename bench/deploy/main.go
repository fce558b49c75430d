// Command deploy measures what ferry's controller adds to a rolling deploy,
// beyond what the health checks and the app's start-up must take.
//
//	go run ./bench/deploy [-n 1,10,50] [-rounds 3]
//
// It builds ferry and the hello example, measures hello's own
// start-to-healthy time (exec to the first 200 on /healthz, median of
// several runs), then for each N starts router and server in a fresh temp
// $FERRY_HOME, deploys hello with count N (HELLO_START_DELAY=0) and times
// rolling deploys v→v+1. For each deployment it takes the time from its
// deployment.started event to its deployment.succeeded event and the number
// of batches, and subtracts per batch the floor no controller can beat: the
// router probes a new task at registration and then every interval, so a
// task that is up when it is registered is healthy after start-up +
// (healthy_threshold−1)·interval. What is left, divided by the batches, is
// the controller's overhead per batch (target: under 50ms; a line per N says
// whether the strict figure meets it). A first probe that comes before the
// app listens is retried within milliseconds (the router's start period),
// and what that costs shows there too.
// Batches overlap when tasks of one batch turn healthy at different times,
// so for several batches the figure is a mean along the critical path.
//
// A batch of several tasks starts its apps at once, and on a small machine
// that takes longer than one app alone. So the table shows the overhead
// twice: against one app's start-up (the strict figure), and against the
// time a whole batch of apps takes to answer when started at once with no
// ferry involved (batch size max(1, ⌈N/4⌉), the default max_surge). Its
// figures are medians over the rounds. It also prints the CPU time the
// server and the router used per deploy (from /proc): on a shared machine a
// steadier figure than wall time, and the CPU a batch's starting tasks
// compete with. A second table follows each batch's slowest task through
// the event trace (chain.go): what the critical path is made of.
//
// It measures; it is not a test. Nothing leaves 127.0.0.1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrycd/ferry/bench/internal/procstat"
	"github.com/ferrycd/ferry/examples"
	"github.com/ferrycd/ferry/internal/daemon"
	"github.com/ferrycd/ferry/internal/home"
)

func main() {
	ns := flag.String("n", "1,10,50", "task counts to deploy, comma-separated")
	rounds := flag.Int("rounds", 3, "rolling deploys per count; the table shows medians")
	interval := flag.Duration("interval", time.Second, "health check interval written to ferry.yaml")
	threshold := flag.Int("threshold", 2, "healthy_threshold written to ferry.yaml")
	flag.Parse()
	log.SetFlags(0)
	var counts []int
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			log.Fatalf("-n %q: %q is not a positive count", *ns, f)
		}
		counts = append(counts, n)
	}
	if *rounds < 1 || *interval <= 0 || *threshold < 1 {
		log.Fatal("-rounds, -interval and -threshold must be positive")
	}
	if err := run(counts, *rounds, *interval, *threshold); err != nil {
		log.Fatal(err)
	}
}

// row is one line of the table.
type row struct {
	n, batches       int
	wall, deployment time.Duration // ferry deploy's wall time; started→succeeded
	floor            time.Duration // per batch, one app's start-up
	overhead         time.Duration // per batch, against floor
	batchFloor       time.Duration // per batch, a whole batch of apps started at once
	batchOverhead    time.Duration // per batch, against batchFloor
	// CPU the server and the router used per deploy: less noisy than wall
	// time on a shared machine, and what a batch's tasks compete with.
	serverCPU, routerCPU time.Duration
	// links are the critical paths of every batch of every round.
	links []link
}

func run(counts []int, rounds int, interval time.Duration, threshold int) error {
	work, err := os.MkdirTemp("", "fbd")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ferry := filepath.Join(work, "ferry")
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(root)) == "" || strings.TrimSpace(string(root)) == os.DevNull {
		return fmt.Errorf("run me inside ferry's module (go run ./bench/deploy): go env GOMOD: %v", err)
	}
	log.Printf("building ferry…")
	if err := goBuild(ferry, filepath.Dir(strings.TrimSpace(string(root))), "./cmd/ferry"); err != nil {
		return err
	}
	src := filepath.Join(work, "hello-src")
	if err := examples.Extract("hello", src); err != nil {
		return err
	}
	helloBin := filepath.Join(work, "hello")
	if err := goBuild(helloBin, src, "."); err != nil {
		return err
	}
	startup, err := appStartup(helloBin, 15, 1)
	if err != nil {
		return err
	}
	floor := startup + time.Duration(threshold-1)*interval
	log.Printf("hello start-to-healthy: %s (median of 15); health floor per batch: %s (interval %s, healthy_threshold %d)",
		startup.Round(10*time.Microsecond), floor, interval, threshold)

	var rows []row
	for _, n := range counts {
		r, err := benchCount(ferry, n, rounds, interval, threshold, floor)
		if err != nil {
			return fmt.Errorf("count %d: %w", n, err)
		}
		k := max(1, (n+3)/4)
		together, err := appStartup(helloBin, 7, k)
		if err != nil {
			return err
		}
		r.batchFloor = together + time.Duration(threshold-1)*interval
		r.batchOverhead = (r.deployment - time.Duration(r.batches)*r.batchFloor) / time.Duration(r.batches)
		log.Printf("N=%d: %d apps started at once all answer after %s (median of 7)", n, k, together.Round(10*time.Microsecond))
		rows = append(rows, r)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tbatches\tdeploy wall\tstarted→succeeded\tfloor/batch (1 app)\toverhead/batch\tfloor/batch (batch of apps)\toverhead/batch\tserver CPU/deploy\trouter CPU/deploy\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.n, r.batches, ms(r.wall), ms(r.deployment),
			ms(r.floor), ms(r.overhead), ms(r.batchFloor), ms(r.batchOverhead), ms(r.serverCPU), ms(r.routerCPU))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		verdict := "under"
		if r.overhead >= target {
			verdict = "NOT under"
		}
		fmt.Printf("N=%d: %s per batch strict, %s against the batch of apps: %s the %s target\n", r.n, ms(r.overhead),
			ms(r.batchOverhead), verdict, ms(target))
	}
	fmt.Println("\nThe slowest task of each batch, from the trace (medians over rounds and batches; the trigger is from the previous batch's last task turning healthy, negative when it started before):")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\ttrigger → starting\tstarting → launched\tlaunched → registered\tregistered → healthy, beyond the checks\t")
	for _, r := range rows {
		var trig, launch, reg, healthy []time.Duration
		for _, l := range r.links {
			trig, launch, reg, healthy = append(trig, l.trigger), append(launch, l.launch), append(reg, l.register), append(healthy, l.healthy)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t\n", r.n, ms(median(trig)), ms(median(launch)), ms(median(reg)), ms(median(healthy)))
	}
	return tw.Flush()
}

// target is issue 4's bound on the controller's overhead per batch, which
// the strict figure must meet.
const target = 50 * time.Millisecond

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func goBuild(out, dir, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// appStartup is the median, over runs, of the time from starting k hellos
// at once to the last of them answering 200 on /healthz, each polled
// every millisecond.
func appStartup(bin string, runs, k int) (time.Duration, error) {
	var took []time.Duration
	for range runs {
		cmds := make([]*exec.Cmd, k)
		urls := make([]string, k)
		for i := range k {
			port, err := freePort()
			if err != nil {
				return 0, err
			}
			cmds[i] = exec.Command(bin)
			cmds[i].Env = []string{"PORT=" + strconv.Itoa(port), "HELLO_START_DELAY=0"}
			urls[i] = fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
		}
		start := time.Now()
		for _, cmd := range cmds {
			if err := cmd.Start(); err != nil {
				return 0, err
			}
		}
		ups := make(chan time.Duration, k)
		for _, url := range urls {
			go func() {
				c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
				for deadline := start.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if resp, err := c.Get(url); err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							ups <- time.Since(start)
							return
						}
					}
				}
				ups <- 0
			}()
		}
		var last time.Duration
		for range k {
			up := <-ups
			if up == 0 {
				last = 0
				break
			}
			last = max(last, up)
		}
		for _, cmd := range cmds {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if last == 0 {
			return 0, fmt.Errorf("hello did not answer /healthz within 10s")
		}
		took = append(took, last)
	}
	return median(took), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// benchCount deploys count N in a fresh home and times rounds rolling deploys.
func benchCount(ferry string, n, rounds int, interval time.Duration, threshold int, floor time.Duration) (row, error) {
	home, err := os.MkdirTemp("", "fbh") // short: unix sockets live here
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(home)
	f := &ferryCmd{bin: ferry, home: home}
	defer f.run(home, "down", "--all")
	app := filepath.Join(home, "app")
	if err := examples.Extract("hello", app); err != nil {
		return row{}, err
	}
	if out, err := exec.Command("git", "init", "-q", app).CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("git init: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return row{}, err
	}
	write := func(v int) error {
		return os.WriteFile(filepath.Join(app, "ferry.yaml"), []byte(fmt.Sprintf(`app: hello
build:
  steps:
    - name: app
      inputs: ["*.go"]
      run: CGO_ENABLED=0 go build -o out/hello .
  output: out/
services:
  web:
    command: [./hello]
    port: http
    count: %d
    health: {path: /healthz, interval: %s, healthy_threshold: %d}
    routes: [{host: hello.localhost}]
    env: {HELLO_VERSION: v%d, HELLO_START_DELAY: "0"}
`, n, interval, threshold, v)), 0o644)
	}
	if err := write(1); err != nil {
		return row{}, err
	}
	log.Printf("N=%d: ferry up…", n)
	if _, err := f.run(app, "up", "--listen", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		return row{}, err
	}
	var walls, deps, overheads, serverCPU, routerCPU []time.Duration
	var links []link
	batches := 0
	for v := 2; v < 2+rounds; v++ {
		if err := write(v); err != nil {
			return row{}, err
		}
		s0, r0, err := daemonCPU(home)
		if err != nil {
			return row{}, err
		}
		start := time.Now()
		if _, err := f.run(app, "deploy"); err != nil {
			return row{}, err
		}
		wall := time.Since(start)
		s1, r1, err := daemonCPU(home)
		if err != nil {
			return row{}, err
		}
		serverCPU, routerCPU = append(serverCPU, s1-s0), append(routerCPU, r1-r0)
		d, b, l, err := lastDeployment(f, app, max(1, (n+3)/4), time.Duration(threshold-1)*interval)
		if err != nil {
			return row{}, err
		}
		batches, links = b, append(links, l...)
		walls, deps = append(walls, wall), append(deps, d)
		overheads = append(overheads, (d-time.Duration(b)*floor)/time.Duration(b))
		log.Printf("N=%d v%d: deploy %s, started→succeeded %s, %d batches, CPU server %s router %s", n, v, ms(wall), ms(d), b,
			ms(s1-s0), ms(r1-r0))
	}
	return row{n: n, batches: batches, wall: median(walls), deployment: median(deps), floor: floor, overhead: median(overheads),
		serverCPU: median(serverCPU), routerCPU: median(routerCPU), links: links}, nil
}

// daemonCPU is the CPU time (user and system) the server and the router of
// a home have used so far, from /proc (Linux).
func daemonCPU(dir string) (server, router time.Duration, err error) {
	h, err := home.New(dir)
	if err != nil {
		return 0, 0, err
	}
	var out [2]time.Duration
	for i, name := range []string{"server", "router"} {
		pid, ok := daemon.Running(h, name)
		if !ok {
			return 0, 0, fmt.Errorf("the %s of %s is not running", name, dir)
		}
		out[i] = procstat.CPU(pid)
	}
	return out[0], out[1], nil
}

// ferryCmd runs the built binary against one home.
type ferryCmd struct{ bin, home string }

func (f *ferryCmd) run(dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FERRY_HOME="+f.home)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return nil, fmt.Errorf("ferry %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out, nil
}

// lastDeployment is the latest deployment's started→succeeded time (from
// its events' timestamps, taken by the server), its batch count and the
// critical path of its batches (chain.go), whose batches are size tasks.
func lastDeployment(f *ferryCmd, app string, size int, checks time.Duration) (time.Duration, int, []link, error) {
	out, err := f.run(app, "status", "-o", "json")
	if err != nil {
		return 0, 0, nil, err
	}
	var st struct {
		Services []struct {
			Deployment *struct {
				ID      int64  `json:"deployment"`
				State   string `json:"state"`
				Batches int    `json:"batches"`
			} `json:"deployment"`
		} `json:"services"`
	}
	if err := json.Unmarshal(out, &st); err != nil || len(st.Services) != 1 || st.Services[0].Deployment == nil {
		return 0, 0, nil, fmt.Errorf("status -o json: no deployment in %s", out)
	}
	d := st.Services[0].Deployment
	if d.State != "succeeded" || d.Batches < 1 {
		return 0, 0, nil, fmt.Errorf("deployment %d: %s with %d batches", d.ID, d.State, d.Batches)
	}
	out, err = f.run(app, "events", "--deployment", strconv.FormatInt(d.ID, 10), "-o", "json")
	if err != nil {
		return 0, 0, nil, err
	}
	evs, err := parseEvents(out)
	if err != nil {
		return 0, 0, nil, err
	}
	var started, succeeded event
	for _, e := range evs {
		switch e.Type {
		case "deployment.started":
			started = e
		case "deployment.succeeded":
			succeeded = e
		}
	}
	if started.Time.IsZero() || succeeded.Time.IsZero() {
		return 0, 0, nil, fmt.Errorf("deployment %d: no started/succeeded events in\n%s", d.ID, out)
	}
	// A task's launch and registration are traced without the deployment:
	// read everything from the deployment's start on.
	out, err = f.run(app, "events", "--since", strconv.FormatInt(started.ID-1, 10), "-o", "json")
	if err != nil {
		return 0, 0, nil, err
	}
	if evs, err = parseEvents(out); err != nil {
		return 0, 0, nil, err
	}
	links, err := criticalPath(evs, d.ID, size, checks)
	if err != nil {
		return 0, 0, nil, err
	}
	return succeeded.Time.Sub(started.Time), d.Batches, links, nil
}
