// Command preview measures how long a pull request waits for its preview:
// from a signed pull_request webhook to the preview answering 200 at its
// URL, through the real ferry binary (router and server in a temp home),
// with the hello example's build already cached, as on every push after a
// branch's first. It prints the first, uncached figure too, then min,
// median and max of the cached rounds, and the time to destroy.
//
// Then a burst: -burst pull requests opened at once, each at a commit of
// its own (so each builds), once with the server processing one delivery
// at a time (--preview-workers 1) and once with the default; it prints
// when the first and the last preview answered in each.
//
//	go run ./bench/preview [-rounds 10] [-burst 6]
package main

import (
	"bufio"
	"bytes"
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
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ferrycd/ferry/examples"
	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/preview"
)

const def = `app: hello
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
    count: 1
    health: {path: /healthz, interval: 100ms, healthy_threshold: 1}
    routes: [{host: hello.localhost}]
`

var secret = []byte("bench-secret")

func main() {
	rounds := flag.Int("rounds", 10, "cached rounds")
	burst := flag.Int("burst", 6, "pull requests opened at once in the burst rounds (0: none)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*rounds, *burst); err != nil {
		log.Fatal(err)
	}
}

type bench struct {
	bin, home, repo, bare string
	router, server        string
	procs                 []*exec.Cmd
	serverProc            *exec.Cmd
}

func run(rounds, burst int) error {
	b := &bench{}
	tmp, err := os.MkdirTemp("", "fpb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	defer b.stop()
	b.home, b.bin = filepath.Join(tmp, "h"), filepath.Join(tmp, "ferry")
	if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/ferry").CombinedOutput(); err != nil {
		return fmt.Errorf("building ferry (run from the module root): %v\n%s", err, out)
	}
	if err := b.setupRepo(); err != nil {
		return err
	}
	if err := b.start(); err != nil {
		return err
	}
	sha, err := gitOut(b.repo, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	first, err := b.round(1, sha)
	if err != nil {
		return err
	}
	if err := b.close(1, sha); err != nil {
		return err
	}
	var times, destroys []time.Duration
	for i := 2; i <= rounds+1; i++ {
		d, err := b.round(i, sha)
		if err != nil {
			return err
		}
		times = append(times, d)
		start := time.Now()
		if err := b.close(i, sha); err != nil {
			return err
		}
		destroys = append(destroys, time.Since(start))
	}
	slices.Sort(times)
	slices.Sort(destroys)
	fmt.Printf("webhook → preview answering 200 (hello example, process runtime, %d cached rounds)\n", rounds)
	fmt.Printf("  first (uncached build): %s\n", first.Round(time.Millisecond))
	fmt.Printf("  cached: min %s  median %s  max %s  (target < 2s)\n", times[0].Round(time.Millisecond),
		times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	fmt.Printf("  closed → destroyed (task stopped, records gone): median %s\n", destroys[len(destroys)/2].Round(time.Millisecond))
	if burst <= 0 {
		return nil
	}
	fmt.Printf("%d pull requests opened at once, each at its own commit (each builds)\n", burst)
	next := 1000
	for _, workers := range []string{"1", "4", "default"} {
		if err := b.restartServer(workers); err != nil {
			return err
		}
		first, last, err := b.burst(next, burst)
		if err != nil {
			return err
		}
		next += burst
		label := workers
		if workers == "default" {
			label = fmt.Sprintf("default (%d here)", preview.DefaultWorkers())
		}
		fmt.Printf("  --preview-workers %s: first answering after %s, last after %s\n", label,
			first.Round(time.Millisecond), last.Round(time.Millisecond))
	}
	return nil
}

// burst opens n pull requests from n, each at a commit of its own, at
// once, waits until every preview answers, and closes them again. It
// returns when the first and the last answered.
func (b *bench) burst(from, n int) (first, last time.Duration, err error) {
	shas := map[int]string{}
	for pr := from; pr < from+n; pr++ {
		// A comment line in a Go file: the build step's inputs change.
		if err := os.WriteFile(filepath.Join(b.repo, "burst.go"), []byte(fmt.Sprintf("package main\n\n// pull request %d\n", pr)), 0o644); err != nil {
			return 0, 0, err
		}
		for _, args := range [][]string{{"add", "-A"}, {"commit", "--quiet", "-m", fmt.Sprintf("pr %d", pr)},
			{"push", "--quiet", b.bare, fmt.Sprintf("HEAD:refs/heads/bench-%d", pr)}} {
			if _, err := gitOut(b.repo, args...); err != nil {
				return 0, 0, err
			}
		}
		if shas[pr], err = gitOut(b.repo, "rev-parse", "HEAD"); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	for pr := from; pr < from+n; pr++ {
		if err := b.deliver(fmt.Sprintf("open-%d", pr), "opened", pr, fmt.Sprintf("bench-%d", pr), shas[pr]); err != nil {
			return 0, 0, err
		}
	}
	answered := map[int]time.Duration{}
	var failed []string
	checked := time.Now()
	err = pollEvery(5*time.Minute, 10*time.Millisecond, func() bool {
		for pr := from; pr < from+n; pr++ {
			if _, ok := answered[pr]; !ok && b.status(fmt.Sprintf("bench-%d.localhost", pr)) == 200 {
				answered[pr] = time.Since(start)
			}
		}
		if len(answered) < n && time.Since(checked) > time.Second {
			// A preview that failed will never answer: stop at once.
			checked, failed = time.Now(), b.failedPreviews()
		}
		return len(answered) == n || len(failed) > 0
	})
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("failed: %s (ferry events --all says why)", strings.Join(failed, ", "))
	}
	if err != nil {
		return 0, 0, fmt.Errorf("burst: %d of %d previews answered: %w", len(answered), n, err)
	}
	first, last = time.Duration(1<<62), 0
	for _, d := range answered {
		first, last = min(first, d), max(last, d)
	}
	for pr := from; pr < from+n; pr++ {
		if err := b.deliver(fmt.Sprintf("close-%d", pr), "closed", pr, fmt.Sprintf("bench-%d", pr), shas[pr]); err != nil {
			return 0, 0, err
		}
	}
	err = pollEvery(2*time.Minute, 20*time.Millisecond, func() bool {
		ps, err := b.previews()
		return err == nil && len(ps) == 0
	})
	return first, last, err
}

func (b *bench) setupRepo() error {
	b.repo = filepath.Join(b.home, "hello")
	if err := examples.Extract("hello", b.repo); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.repo, "ferry.yaml"), []byte(def), 0o644); err != nil {
		return err
	}
	b.bare = filepath.Join(b.home, "hello.git")
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"}, {"add", "-A"}, {"commit", "--quiet", "-m", "hello"},
		{"clone", "--quiet", "--bare", b.repo, b.bare},
	} {
		if _, err := gitOut(b.repo, args...); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(b.home, "webhook-secret"), secret, 0o600)
}

var listening = regexp.MustCompile(`msg="router: listening" addr=(\S+)`)

func (b *bench) start() error {
	router := exec.Command(b.bin, "router", "--listen", "127.0.0.1:0")
	router.Env = append(os.Environ(), "FERRY_HOME="+b.home)
	stderr, err := router.StderrPipe()
	if err != nil {
		return err
	}
	if err := router.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, router)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case b.router = <-addr:
	case <-time.After(20 * time.Second):
		return fmt.Errorf("the router did not start")
	}
	return b.startServer("default")
}

// startServer starts the server, with --preview-workers unless workers is
// "default", and waits until it answers.
func (b *bench) startServer(workers string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.server = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(b.router)
	args := []string{"server", "--listen", b.server, "--repo", "acme/hello=" + b.bare, "--preview-url", "http://{host}:" + port}
	if workers != "default" {
		args = append(args, "--preview-workers", workers)
	}
	server := exec.Command(b.bin, args...)
	server.Env = append(os.Environ(), "FERRY_HOME="+b.home)
	if err := server.Start(); err != nil {
		return err
	}
	b.serverProc = server
	return poll(20*time.Second, func() bool {
		resp, err := http.Get("http://" + b.server + "/v1/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

// previewDoc is what the bench reads of `ferry preview list -o json`.
type previewDoc struct{ Slug, Host, State string }

// previews lists the server's previews.
func (b *bench) previews() ([]previewDoc, error) {
	out, err := exec.Command(b.bin, "--home", b.home, "preview", "list", "-o", "json").Output()
	if err != nil {
		return nil, err
	}
	var ps []previewDoc
	err = json.Unmarshal(out, &ps)
	return ps, err
}

// failedPreviews lists the hosts of previews in state failed.
func (b *bench) failedPreviews() []string {
	ps, _ := b.previews()
	var failed []string
	for _, p := range ps {
		if p.State == "failed" {
			failed = append(failed, p.Host)
		}
	}
	return failed
}

// restartServer stops the server and starts it again with workers.
func (b *bench) restartServer(workers string) error {
	b.stopServer()
	return b.startServer(workers)
}

// stopServer ends the server, if one runs.
func (b *bench) stopServer() {
	if p := b.serverProc; p != nil {
		p.Process.Signal(os.Interrupt)
		p.Wait()
		b.serverProc = nil
	}
}

// stop destroys any preview left open, then ends the daemons.
func (b *bench) stop() {
	// Previews a failed round left open would keep their tasks running
	// after the daemons: tasks outlive the server by design.
	if b.serverProc != nil {
		ps, _ := b.previews()
		for _, p := range ps {
			if out, err := exec.Command(b.bin, "--home", b.home, "preview", "destroy", p.Slug).CombinedOutput(); err != nil {
				log.Printf("ferry preview destroy %s: %v\n%s", p.Slug, err, out)
			}
		}
	}
	b.stopServer()
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].Process.Signal(os.Interrupt)
		b.procs[i].Wait()
	}
}

func (b *bench) deliver(id, action string, pr int, branch, sha string) error {
	repo := map[string]any{"id": 186853002, "name": "hello", "full_name": "acme/hello", "default_branch": "main"}
	body, _ := json.Marshal(map[string]any{
		"action": action, "number": pr, "repository": repo, "sender": map[string]any{"login": "octocat"},
		"pull_request": map[string]any{"number": pr, "state": "open", "merged": action == "closed", "labels": []any{},
			"head": map[string]any{"ref": branch, "sha": sha, "repo": repo},
			"base": map[string]any{"ref": "main", "sha": sha, "repo": repo}},
	})
	req, _ := http.NewRequest("POST", "http://"+b.server+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set(github.SignatureHeader, github.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("delivery %s: %s", id, resp.Status)
	}
	return nil
}

func (b *bench) status(host string) int {
	req, _ := http.NewRequest("GET", "http://"+b.router+"/", nil)
	req.Host = host
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// round opens PR n from branch bench-n at sha and returns how long it took
// to answer 200.
func (b *bench) round(n int, sha string) (time.Duration, error) {
	branch := fmt.Sprintf("bench-%d", n)
	if _, err := gitOut(b.repo, "push", "--quiet", b.bare, "HEAD:refs/heads/"+branch); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := b.deliver(fmt.Sprintf("open-%d", n), "opened", n, branch, sha); err != nil {
		return 0, err
	}
	host := branch + ".localhost"
	err := pollEvery(2*time.Minute, 5*time.Millisecond, func() bool { return b.status(host) == 200 })
	return time.Since(start), err
}

// close closes PR n and waits until the preview is gone: no longer listed,
// which happens once its task stopped and its records went.
func (b *bench) close(n int, sha string) error {
	branch := fmt.Sprintf("bench-%d", n)
	if err := b.deliver(fmt.Sprintf("close-%d", n), "closed", n, branch, sha); err != nil {
		return err
	}
	return pollEvery(time.Minute, 5*time.Millisecond, func() bool {
		ps, err := b.previews()
		return err == nil && len(ps) == 0
	})
}

func poll(within time.Duration, ok func() bool) error {
	return pollEvery(within, 50*time.Millisecond, ok)
}

func pollEvery(within, every time.Duration, ok func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %s", within)
		case <-time.After(every):
		}
	}
	return nil
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
