// Command preview measures how long a pull request waits for its preview:
// from a signed pull_request webhook to the preview answering 200 at its
// URL, through the real ferry binary (router and server in a temp home),
// with the hello example's build already cached, as on every push after a
// branch's first. It prints the first, uncached figure too, then min,
// median and max of the cached rounds, and the time to destroy.
//
//	go run ./bench/preview [-rounds 10]
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
	flag.Parse()
	log.SetFlags(0)
	if err := run(*rounds); err != nil {
		log.Fatal(err)
	}
}

type bench struct {
	bin, home, repo, bare string
	router, server        string
	procs                 []*exec.Cmd
}

func run(rounds int) error {
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
	return nil
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.server = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(b.router)
	server := exec.Command(b.bin, "server", "--listen", b.server, "--repo", "acme/hello="+b.bare,
		"--preview-url", "http://{host}:"+port)
	server.Env = append(os.Environ(), "FERRY_HOME="+b.home)
	if err := server.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, server)
	return poll(20*time.Second, func() bool {
		resp, err := http.Get("http://" + b.server + "/v1/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

// stop ends the daemons; every preview was closed, so no task is left.
func (b *bench) stop() {
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
		out, err := exec.Command(b.bin, "--home", b.home, "preview", "list", "-o", "json").Output()
		return err == nil && strings.TrimSpace(string(out)) == "[]"
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
