// Command router benchmarks `ferry router` against nginx in one run on this
// machine: the same two trivial backends, the same keep-alive, the same wrk
// load (64 connections, 200-byte responses), and prints one table:
// req/s, p50/p99, CPU µs per request (utime+stime of the proxy's processes
// over the run), instructions per request (perf stat, when the CPU exposes
// the counter), peak RSS (VmHWM), errors and the ferry/nginx ratio.
//
//	go run ./bench/router [-d 10s] [-c 64]
//
// It installs nginx and wrk with apt-get when they are missing.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/bench/internal/procstat"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/router/client"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "backend" {
		backend(os.Args[2])
		return
	}
	dur := flag.Duration("d", 10*time.Second, "load duration per proxy and round")
	conns := flag.Int("c", 64, "wrk connections")
	rounds := flag.Int("rounds", 3, "alternating rounds per proxy; the table shows each figure's median")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*dur, *conns, *rounds); err != nil {
		log.Fatal(err)
	}
}

// backend serves a 200-byte body on addr, keep-alive on.
func backend(addr string) {
	body := []byte(strings.Repeat("x", 199) + "\n")
	http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}))
}

type result struct {
	name        string
	rps         float64
	p50, p99    time.Duration
	cpuPerReq   float64 // µs
	instrPerReq string
	rssKB       int64
	errors      int64
	requests    int64
}

func run(dur time.Duration, conns, rounds int) error {
	if err := ensureTools(); err != nil {
		return err
	}
	load := loadavg()
	dir, err := os.MkdirTemp("", "ferry-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			// SIGTERM, not SIGKILL: nginx's master then stops its workers.
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	start := func(name string, args ...string) (*exec.Cmd, error) {
		cmd := exec.Command(name, args...)
		cmd.Stdout = os.Stderr
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		procs = append(procs, cmd)
		return cmd, nil
	}
	b1, b2 := freeAddr(), freeAddr()
	for _, a := range []string{b1, b2} {
		if _, err := start(self, "backend", a); err != nil {
			return err
		}
		if err := waitListening(a); err != nil {
			return err
		}
	}

	// nginx: same upstreams, keep-alive to them, access log off.
	nginxAddr := freeAddr()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s;
  proxy_temp_path %[1]s;
  fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s;
  scgi_temp_path %[1]s;
  upstream app { server %[2]s; server %[3]s; keepalive 128; }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`, dir, b1, b2, nginxAddr)), 0o644)
	nginx, err := start("nginx", "-c", conf, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return err
	}
	if err := waitListening(nginxAddr); err != nil {
		return err
	}

	// ferry router, configured through its admin socket.
	ferryBin := filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", ferryBin, "./cmd/ferry")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building ferry (run from the module root): %w", err)
	}
	ferryAddr := freeAddr()
	sock := filepath.Join(dir, "router.sock")
	fr, err := start(ferryBin, "router", "--home", filepath.Join(dir, "home"), "--listen", ferryAddr, "--admin-socket", sock)
	if err != nil {
		return err
	}
	if err := waitListening(ferryAddr); err != nil {
		return err
	}
	if err := configure(sock, b1, b2); err != nil {
		return err
	}

	proxies := []struct {
		name string
		pid  int
		addr string
	}{{"nginx", nginx.Process.Pid, nginxAddr}, {"ferry", fr.Process.Pid, ferryAddr}}
	for _, p := range proxies {
		wrk("http://"+p.addr+"/", 2*time.Second, conns) // warm up connections and pools
	}
	// Rounds alternate between the proxies so that other load on the
	// machine falls on both alike; medians damp what remains.
	runs := make([][]result, len(proxies))
	for r := 0; r < rounds; r++ {
		for i, p := range proxies {
			res, err := measure(p.name, p.pid, "http://"+p.addr+"/", dur, conns)
			if err != nil {
				return err
			}
			runs[i] = append(runs[i], res)
		}
	}
	var results []result
	for _, rs := range runs {
		results = append(results, median(rs))
	}
	printTable(results, dur, conns, rounds, load)
	return nil
}

func configure(sock, b1, b2 string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := client.New(sock)
	svc := api.Service{Name: "bench", Routes: []api.Route{{Host: "bench.local"}}, Health: api.HealthCheck{Path: "/", Interval: 100 * time.Millisecond}}
	if err := c.PutService(ctx, svc); err != nil {
		return err
	}
	if err := c.SetTargets(ctx, "bench", "v1", []api.Target{{ID: "b1", Addr: b1}, {ID: "b2", Addr: b2}}); err != nil {
		return err
	}
	if err := c.SetWeights(ctx, "bench", map[string]int{"v1": 100}); err != nil {
		return err
	}
	for {
		st, err := c.Service(ctx, "bench")
		if err != nil {
			return err
		}
		healthy := 0
		for _, t := range st.Groups[0].Targets {
			if t.Health == api.TargetHealthy {
				healthy++
			}
		}
		if healthy == 2 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ferry router: targets never healthy: %+v", st)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// measure runs wrk against url for dur while sampling the CPU time of pid
// and its children and, when perf can, counting their instructions.
func measure(name string, pid int, url string, dur time.Duration, conns int) (result, error) {
	pids := family(pid)
	cpu0 := procstat.CPU(pids...)
	perfOut := make(chan string, 1)
	go func() { perfOut <- perfInstructions(pids, dur) }()
	out, err := wrk(url, dur, conns)
	if err != nil {
		return result{}, fmt.Errorf("wrk against %s: %v\n%s", name, err, out)
	}
	cpu1 := procstat.CPU(pids...)
	r := parseWrk(out)
	r.name = name
	if r.requests > 0 {
		r.cpuPerReq = (cpu1 - cpu0).Seconds() * 1e6 / float64(r.requests)
	}
	instr := <-perfOut
	r.instrPerReq = "n/a"
	if n, err := strconv.ParseFloat(instr, 64); err == nil && r.requests > 0 {
		r.instrPerReq = fmt.Sprintf("%.0fk", n/float64(r.requests)/1000)
	}
	for _, p := range pids {
		r.rssKB += statusKB(p, "VmHWM:")
	}
	return r, nil
}

func wrk(url string, dur time.Duration, conns int) (string, error) {
	out, err := exec.Command("wrk", "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(dur.Seconds())),
		"--latency", "-H", "Host: bench.local", url).CombinedOutput()
	return string(out), err
}

var (
	reqsRe   = regexp.MustCompile(`(\d+) requests in`)
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	p50Re    = regexp.MustCompile(`\s50%\s+([\d.]+\w+)`)
	p99Re    = regexp.MustCompile(`\s99%\s+([\d.]+\w+)`)
	non2xxRe = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	socketRe = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out string) result {
	var r result
	if m := reqsRe.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := rpsRe.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := p50Re.FindStringSubmatch(out); m != nil {
		r.p50, _ = time.ParseDuration(m[1])
	}
	if m := p99Re.FindStringSubmatch(out); m != nil {
		r.p99, _ = time.ParseDuration(m[1])
	}
	if m := non2xxRe.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.errors += n
	}
	if m := socketRe.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.errors += n
		}
	}
	return r
}

// family is pid and its direct children (nginx's workers).
func family(pid int) []int {
	pids := []int{pid}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procstat.Fields(p); len(f) > 3 && f[3] == strconv.Itoa(pid) {
			pids = append(pids, p)
		}
	}
	return pids
}

func statusKB(pid int, key string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// perfInstructions counts instructions of pids for dur; "" when perf or the
// counter is unavailable (as in most VMs).
func perfInstructions(pids []int, dur time.Duration) string {
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = strconv.Itoa(p)
	}
	out, err := exec.Command("perf", "stat", "-x,", "-e", "instructions", "-p", strings.Join(ps, ","),
		"--", "sleep", strconv.Itoa(int(dur.Seconds()))).CombinedOutput()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, ",")
		if len(f) > 2 && strings.HasPrefix(f[2], "instructions") {
			if _, err := strconv.ParseFloat(f[0], 64); err == nil {
				return f[0]
			}
		}
	}
	return ""
}

// median takes each figure's median over rounds (errors are summed, peak
// RSS is the largest).
func median(rs []result) result {
	pick := func(less func(a, b result) bool) result {
		s := append([]result(nil), rs...)
		sort.Slice(s, func(i, j int) bool { return less(s[i], s[j]) })
		return s[len(s)/2]
	}
	out := rs[0]
	out.rps = pick(func(a, b result) bool { return a.rps < b.rps }).rps
	out.p50 = pick(func(a, b result) bool { return a.p50 < b.p50 }).p50
	out.p99 = pick(func(a, b result) bool { return a.p99 < b.p99 }).p99
	out.cpuPerReq = pick(func(a, b result) bool { return a.cpuPerReq < b.cpuPerReq }).cpuPerReq
	out.instrPerReq = pick(func(a, b result) bool { return a.instrPerReq < b.instrPerReq }).instrPerReq
	out.errors, out.rssKB = 0, 0
	for _, r := range rs {
		out.errors += r.errors
		out.rssKB = max(out.rssKB, r.rssKB)
	}
	return out
}

func printTable(rs []result, dur time.Duration, conns, rounds int, load string) {
	fmt.Printf("wrk -t2 -c%d -d%s × %d alternating rounds (medians), 200-byte GET, two keep-alive upstreams, %d CPUs, load average at start: %s\n\n",
		conns, dur, rounds, numCPU(), load)
	fmt.Printf("| %-6s | %9s | %8s | %8s | %10s | %11s | %8s | %6s |\n", "proxy", "req/s", "p50", "p99", "CPU µs/req", "instr/req", "peak RSS", "errors")
	fmt.Printf("|%s|\n", strings.Repeat("-", 90))
	for _, r := range rs {
		fmt.Printf("| %-6s | %9.0f | %8s | %8s | %10.1f | %11s | %5d MB | %6d |\n", r.name, r.rps, r.p50, r.p99, r.cpuPerReq, r.instrPerReq, r.rssKB/1024, r.errors)
	}
	if len(rs) == 2 && rs[0].rps > 0 {
		n, f := rs[0], rs[1]
		fmt.Printf("\nferry/nginx: req/s %.2f×, CPU/req %.2f× (target ≤ 2), p99 %.2f× (target ≤ 1.5), errors %d (target 0)\n",
			f.rps/n.rps, f.cpuPerReq/n.cpuPerReq, float64(f.p99)/float64(n.p99), f.errors)
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func ensureTools() error {
	var missing []string
	for bin, pkg := range map[string]string{"nginx": "nginx", "wrk": "wrk"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	log.Printf("installing %v with apt-get", missing)
	for _, args := range [][]string{{"update"}, append([]string{"install", "-y", "--no-install-recommends"}, missing...)} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s", addr)
}
