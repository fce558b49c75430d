package e2e

import (
	"bytes"
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

	"github.com/ferrycd/ferry/examples"
	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/github/githubtest"
)

// previewRig is a router, a server taking webhooks and a fake GitHub, with
// the hello example in a git repository and a bare clone standing in for
// the GitHub repository acme/hello.
type previewRig struct {
	home, repo, bare string
	router, server   string // addresses
	secret           []byte
	gh               *githubtest.Server
}

var regexpDNSLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

const previewDef = `app: hello
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
    health: {path: /healthz, interval: 200ms, healthy_threshold: 1}
    routes: [{host: hello.localhost}]
    env: {HELLO_VERSION: "%s"}
preview:
  ttl: %s
  hooks:
    on_create: {command: [sh, -c, 'echo "created $FERRY_PREVIEW_HOST" >> "$FERRY_HOME/hooks.log"'], timeout: 10s}
    on_destroy: {command: [sh, -c, 'echo "destroyed $FERRY_PREVIEW_HOST" >> "$FERRY_HOME/hooks.log"'], timeout: 10s}
`

func startPreviewRig(t *testing.T, ttl string) *previewRig {
	t.Helper()
	r := &previewRig{home: shortFerryHome(t), secret: []byte("It's a Secret to Everybody")}
	r.repo = filepath.Join(r.home, "hello")
	if err := examples.Extract("hello", r.repo); err != nil {
		t.Fatal(err)
	}
	r.git(t, "init", "--quiet", "--initial-branch=main")
	r.writeDef(t, "main", ttl)
	r.commit(t, "main")
	r.bare = filepath.Join(r.home, "hello.git")
	r.git(t, "clone", "--quiet", "--bare", r.repo, r.bare)
	r.git(t, "remote", "add", "origin", r.bare)

	writeFile(t, filepath.Join(r.home, "webhook-secret"), string(r.secret), 0o600)
	writeFile(t, filepath.Join(r.home, "github-token"), "gh-token", 0o600)
	r.gh = githubtest.New(t, "gh-token")
	rr := startRouterProcess(t, r.home)
	r.router = rr.addr
	_, port, _ := net.SplitHostPort(r.router)
	r.server = freeAddr(t)
	var srv *background
	t.Cleanup(func() { // after the server is killed: its log helps a failure
		if t.Failed() && srv != nil {
			var keep []string
			for _, l := range strings.Split(srv.stderr(), "\n") {
				if !strings.Contains(l, "msg=http") {
					keep = append(keep, l)
				}
			}
			log := strings.Join(keep, "\n")
			if len(log) > 20000 && os.Getenv("FERRY_E2E_DUMP") == "" {
				log = log[len(log)-20000:]
			}
			t.Logf("server log:\n%s", log)
		}
	})
	srv = startFerry(t, r.home, r.home, "server", "--listen", r.server, "--repo", "acme/hello="+r.bare,
		"--github-api", r.gh.URL, "--preview-url", "http://{host}:"+port, "--preview-sweep", "300ms",
		"--push-env", "")
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("FERRY_E2E_DUMP") != "" {
			srv.cmd.Process.Signal(syscall.SIGQUIT)
			<-srv.done
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("previews: %+v", r.previews(t))
			t.Logf("events:\n%s", ferry(t, r.home, r.home, nil, "events", "--all").Stdout)
		}
	})
	// Before the server is killed: whatever the test left is destroyed
	// through ferry, and nothing of the home may outlive the test.
	t.Cleanup(func() {
		for _, p := range r.previews(t) {
			if res := ferry(t, r.home, r.home, nil, "preview", "destroy", p.Slug); res.Code != 0 {
				t.Errorf("preview destroy %s: exit %d\n%s%s", p.Slug, res.Code, res.Stdout, res.Stderr)
			}
		}
		if procs := taskProcs(t, r.home); len(procs) > 0 {
			t.Errorf("task processes left: %v", procs)
		}
	})
	eventually(t, 20*time.Second, "the server answers", func() (bool, string) {
		resp, err := http.Get("http://" + r.server + "/v1/health")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return r
}

func (r *previewRig) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = r.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *previewRig) writeDef(t *testing.T, version, ttl string) {
	writeFile(t, filepath.Join(r.repo, "ferry.yaml"), fmt.Sprintf(previewDef, version, ttl), 0o644)
}

func (r *previewRig) commit(t *testing.T, msg string) string {
	r.git(t, "add", "-A")
	r.git(t, "commit", "--quiet", "-m", msg)
	return r.git(t, "rev-parse", "HEAD")
}

// push commits version on branch, pushes it to the bare repository and
// returns the commit.
func (r *previewRig) push(t *testing.T, branch, version string) string {
	t.Helper()
	return r.pushTTL(t, branch, version, "1h")
}

// pushTTL is push with the preview TTL the commit's ferry.yaml sets.
func (r *previewRig) pushTTL(t *testing.T, branch, version, ttl string) string {
	t.Helper()
	r.git(t, "checkout", "--quiet", "-B", branch)
	r.writeDef(t, version, ttl)
	sha := r.commit(t, branch+" "+version)
	r.git(t, "push", "--quiet", "--force", "origin", branch)
	r.git(t, "checkout", "--quiet", "main")
	return sha
}

// prPayload is GitHub's documented pull_request example with this PR's
// facts in it.
func prPayload(t *testing.T, action string, pr int, branch, sha string, merged bool) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "internal/github/testdata/pull_request_opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["action"], doc["number"] = action, pr
	repo := doc["repository"].(map[string]any)
	repo["full_name"], repo["name"], repo["default_branch"] = "acme/hello", "hello", "main"
	p := doc["pull_request"].(map[string]any)
	p["number"], p["merged"] = pr, merged
	head := p["head"].(map[string]any)
	head["ref"], head["sha"] = branch, sha
	b, _ := json.Marshal(doc)
	return b
}

// deliver posts a delivery; sig "" signs it with the rig's secret, "-"
// sends no signature, anything else is sent as is.
func (r *previewRig) deliver(t *testing.T, event, id string, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+r.server+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	switch sig {
	case "":
		req.Header.Set(github.SignatureHeader, github.Sign(r.secret, body))
	case "-":
	default:
		req.Header.Set(github.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type previewDoc struct {
	Slug, Env, Branch, State, URL, Host, Repo string
	PR                                        int
	HeadSHA                                   string `json:"head_sha"`
}

func (r *previewRig) previews(t *testing.T) []previewDoc {
	t.Helper()
	var ps []previewDoc
	res := mustFerry(t, r.home, r.home, nil, "preview", "list", "-o", "json")
	if err := json.Unmarshal([]byte(res.Stdout), &ps); err != nil {
		t.Fatalf("preview list: %v\n%s", err, res.Stdout)
	}
	return ps
}

// ask sends one request for host through the router: its status and the
// version hello answered with.
func (r *previewRig) ask(host string) (int, string, error) {
	req, _ := http.NewRequest("GET", "http://"+r.router+"/", nil)
	req.Host = host
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var a helloAnswer
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &a)
	return resp.StatusCode, a.Version, nil
}

func (r *previewRig) answers(t *testing.T, host, version string) {
	t.Helper()
	eventually(t, 60*time.Second, host+" answers "+version, func() (bool, string) {
		code, v, err := r.ask(host)
		if err != nil {
			return false, err.Error()
		}
		return code == 200 && v == version, fmt.Sprintf("status %d version %q", code, v)
	})
}

// gone checks nothing of the preview is left: no row, no route, and — as
// it was the only preview — no task process and no release directory.
func (r *previewRig) gone(t *testing.T, host string) {
	t.Helper()
	r.goneFrom(t, host)
	r.nothingRuns(t)
}

// goneFrom checks the preview of host has no row and no route left.
func (r *previewRig) goneFrom(t *testing.T, host string) {
	t.Helper()
	eventually(t, 30*time.Second, "the preview "+host+" is destroyed", func() (bool, string) {
		for _, p := range r.previews(t) {
			if p.Host == host {
				return false, "still listed: " + p.State
			}
		}
		return true, ""
	})
	if code, _, err := r.ask(host); err == nil && code == 200 {
		t.Errorf("%s still answers 200", host)
	}
}

// nothingRuns checks no task process and no release directory is left.
func (r *previewRig) nothingRuns(t *testing.T) {
	t.Helper()
	if procs := taskProcs(t, r.home); len(procs) > 0 {
		t.Errorf("task processes left: %+v", procs)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.home, "releases")); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("release directories left: %v", names)
	}
}

// steadyLoad requests host through the router until stopped, counting
// answers that are not 200.
type steadyLoad struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	sent     atomic.Int64
	mu       sync.Mutex
	failures []string
}

func startSteadyLoad(r *previewRig, host string) *steadyLoad {
	l := &steadyLoad{stop: make(chan struct{})}
	for range 3 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				code, _, err := r.ask(host)
				l.sent.Add(1)
				if err != nil || code != 200 {
					l.mu.Lock()
					l.failures = append(l.failures, fmt.Sprintf("status %d err %v", code, err))
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

func (l *steadyLoad) halt() (int64, []string) {
	close(l.stop)
	l.wg.Wait()
	return l.sent.Load(), l.failures
}

func TestPreviewFromSignedWebhooks(t *testing.T) {
	r := startPreviewRig(t, "1h")
	sha1 := r.push(t, "Feature/Login", "v1")
	opened := prPayload(t, "opened", 1, "Feature/Login", sha1, false)

	// Forged, unsigned and malformed deliveries are refused and record nothing.
	for _, c := range []struct {
		name, sig string
		body      []byte
		want      int
	}{
		{"unsigned", "-", opened, 401},
		{"forged", github.Sign([]byte("guess"), opened), opened, 401},
		{"tampered", github.Sign(r.secret, opened), append(bytes.Clone(opened), ' '), 401},
		{"malformed", "", []byte(`{"action": "opened", "number": "one"}`), 400},
	} {
		if code, body := r.deliver(t, "pull_request", "bad-"+c.name, c.body, c.sig); code != c.want {
			t.Errorf("%s delivery: %d %s, want %d", c.name, code, body, c.want)
		}
	}
	// A forged delivery does not use up its id either: the genuine one with
	// the same id is accepted.
	if code, body := r.deliver(t, "pull_request", "d-1", opened, "-"); code != 401 {
		t.Fatalf("unsigned d-1: %d %s", code, body)
	}
	if ps := r.previews(t); len(ps) != 0 {
		t.Fatalf("bad deliveries created previews: %+v", ps)
	}

	r.gh.SetOpen("acme/hello", 1)
	start := time.Now()
	if code, body := r.deliver(t, "pull_request", "d-1", opened, ""); code != 202 {
		t.Fatalf("opened: %d %s", code, body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the webhook took %s to answer; it must only queue", took)
	}
	r.answers(t, "feature-login.localhost", "v1")
	var ps []previewDoc
	eventually(t, 20*time.Second, "the preview is ready", func() (bool, string) {
		ps = r.previews(t)
		return len(ps) == 1 && ps[0].State == "ready", fmt.Sprintf("%+v", ps)
	})
	if ps[0].Env != "pr-1" || ps[0].PR != 1 || ps[0].HeadSHA != sha1 || ps[0].URL == "" {
		t.Fatalf("previews = %+v", ps)
	}
	// A deploy by hand cannot take over the preview's environment: refused,
	// and the preview serves on as it was.
	byHand := newHelloApp(t, t.TempDir()).Dir
	writeFile(t, filepath.Join(byHand, "ferry.yaml"), fmt.Sprintf(previewDef, "by hand", "1h")+"environments:\n  pr-1: {}\n", 0o644)
	if res := ferry(t, byHand, r.home, nil, "deploy", "--env", "pr-1"); res.Code != 1 ||
		!strings.Contains(res.Stderr, "environment hello/pr-1 belongs to a preview: deploy to another environment, or destroy the preview first (ferry preview destroy)") {
		t.Errorf("ferry deploy --env pr-1: exit %d\n%s%s\nwant exit 1 naming the preview's environment", res.Code, res.Stdout, res.Stderr)
	}
	if revs := mustFerry(t, byHand, r.home, nil, "revisions", "--env", "pr-1").Stdout; strings.Count(revs, "\n") != 2 {
		t.Errorf("pr-1's revisions after the refused deploy:\n%s\nwant the preview's one", revs)
	}
	r.answers(t, "feature-login.localhost", "v1")
	// A replay of the same delivery is acknowledged and not queued again.
	if code, body := r.deliver(t, "pull_request", "d-1", opened, ""); code != 200 || !strings.Contains(body, "duplicate") {
		t.Errorf("replay: %d %s", code, body)
	}

	// The queue says what it received and what became of it; refused
	// deliveries were never recorded. One for a repository the server
	// does not know fails at once, with the reason.
	other := bytes.ReplaceAll(opened, []byte("acme/hello"), []byte("acme/other"))
	if code, body := r.deliver(t, "pull_request", "d-other", other, ""); code != 202 {
		t.Fatalf("other repository: %d %s", code, body)
	}
	var dels []struct{ ID, Summary, State, Error string }
	eventually(t, 10*time.Second, "the other repository's delivery failed", func() (bool, string) {
		res := mustFerry(t, r.repo, r.home, nil, "preview", "deliveries", "-o", "json")
		dels = nil
		json.Unmarshal([]byte(res.Stdout), &dels)
		return len(dels) == 2 && dels[0].State == "failed", res.Stdout
	})
	if dels[0].ID != "d-other" || !strings.Contains(dels[0].Error, `repository "acme/other" is not configured`) ||
		dels[1].ID != "d-1" || dels[1].State != "done" || dels[1].Summary != "opened acme/hello#1 (Feature/Login at "+sha1[:12]+")" {
		t.Errorf("deliveries = %+v", dels)
	}
	if table := mustFerry(t, r.repo, r.home, nil, "preview", "deliveries").Stdout; !strings.Contains(table, "STATE") ||
		!strings.Contains(table, "d-other") || strings.Contains(table, "bad-") {
		t.Errorf("preview deliveries:\n%s", table)
	}
	if res := ferry(t, r.repo, r.home, nil, "preview", "deliveries", "--limit", "0"); res.Code != 1 || !strings.Contains(res.Stderr, "--limit 0: want a number above 0") {
		t.Errorf("preview deliveries --limit 0: exit %d\n%s", res.Code, res.Stderr)
	}

	// GitHub hears about it: a transient deployment in progress then live.
	ds := r.gh.Deployments()
	if len(ds) != 1 || ds[0].Environment != "pr-1" || ds[0].Ref != sha1 || !ds[0].Transient {
		t.Fatalf("GitHub deployments = %+v", ds)
	}
	if st := ds[0].Statuses; len(st) != 2 || st[0].State != "in_progress" || st[1].State != "success" ||
		st[1].EnvironmentURL != ps[0].URL {
		t.Errorf("statuses = %+v", st)
	}

	// synchronize rolls the new commit out without a failed request.
	load := startSteadyLoad(r, "feature-login.localhost")
	sha2 := r.push(t, "Feature/Login", "v2")
	if code, body := r.deliver(t, "pull_request", "d-2", prPayload(t, "synchronize", 1, "Feature/Login", sha2, false), ""); code != 202 {
		t.Fatalf("synchronize: %d %s", code, body)
	}
	r.answers(t, "feature-login.localhost", "v2")
	eventually(t, 30*time.Second, "the preview records the new head", func() (bool, string) {
		ps := r.previews(t)
		return len(ps) == 1 && ps[0].HeadSHA == sha2 && ps[0].State == "ready", fmt.Sprintf("%+v", ps)
	})
	sent, failures := load.halt()
	if len(failures) > 0 || sent < 20 {
		t.Errorf("during the synchronize rollout: %d requests, %d failed: %v", sent, len(failures), failures)
	}
	eventually(t, 10*time.Second, "one PR comment naming the new head", func() (bool, string) {
		cs := r.gh.Comments("acme/hello", 1)
		return len(cs) == 1 && strings.Contains(cs[0].Body, sha2[:12]), fmt.Sprintf("%+v", cs)
	})

	// closed (merged) destroys everything.
	if code, body := r.deliver(t, "pull_request", "d-3", prPayload(t, "closed", 1, "Feature/Login", sha2, true), ""); code != 202 {
		t.Fatalf("closed: %d %s", code, body)
	}
	r.gone(t, "feature-login.localhost")
	if b, _ := os.ReadFile(filepath.Join(r.home, "hooks.log")); string(b) != "created feature-login.localhost\ndestroyed feature-login.localhost\n" {
		t.Errorf("hooks ran: %q, want on_create once and on_destroy once", b)
	}
	ds = r.gh.Deployments()
	if last := ds[len(ds)-1].Statuses; last[len(last)-1].State != "inactive" {
		t.Errorf("the last deployment's statuses = %+v, want inactive last", last)
	}

	// A PR closed without merging, whose close event is lost: the sweeper
	// reconciles against GitHub's open pull requests.
	sha3 := r.push(t, "fix", "v3")
	r.gh.SetOpen("acme/hello", 1, 2)
	if code, body := r.deliver(t, "pull_request", "d-4", prPayload(t, "opened", 2, "fix", sha3, false), ""); code != 202 {
		t.Fatalf("opened 2: %d %s", code, body)
	}
	r.answers(t, "fix.localhost", "v3")
	r.gh.SetOpen("acme/hello")
	r.gone(t, "fix.localhost")
}

func TestPreviewWatchCreateAndTTL(t *testing.T) {
	r := startPreviewRig(t, "1h")
	long := "Feature/ÜBER_long-" + strings.Repeat("x", 82) // 100 bytes
	r.push(t, "feature/a", "a1")
	r.push(t, "feature-a", "dash1")
	r.push(t, long, "long1")
	w := startFerry(t, r.repo, r.home, "watch", r.repo, "--interval", "200ms")

	hostOf := func(branch string) string {
		var host string
		eventually(t, 60*time.Second, "a ready preview of "+branch, func() (bool, string) {
			for _, p := range r.previews(t) {
				if p.Branch == branch && p.State == "ready" {
					host = p.Host
					return true, ""
				}
			}
			return false, fmt.Sprintf("watch said: %v", w.lines())
		})
		return host
	}
	a, dash, lng := hostOf("feature/a"), hostOf("feature-a"), hostOf(long)
	r.answers(t, a, "a1")
	r.answers(t, dash, "dash1")
	r.answers(t, lng, "long1")
	if a == dash || a == lng || dash == lng {
		t.Fatalf("hosts collide: %s %s %s", a, dash, lng)
	}
	for _, h := range []string{a, dash, lng} {
		label, _, _ := strings.Cut(h, ".")
		if len(label) > 63 || !regexpDNSLabel.MatchString(label) {
			t.Errorf("host %s: label %q is not a DNS label", h, label)
		}
	}
	for _, p := range r.previews(t) {
		// Branch previews live in br-<slug>, or bh-<cut slug>-<hash> when the
		// slug had to be shortened (a prefix no short slug can produce).
		if p.Repo != r.repo || p.PR != 0 || !(strings.HasPrefix(p.Env, "br-") || strings.HasPrefix(p.Env, "bh-")) {
			t.Errorf("a watched branch's preview: %+v", p)
		}
	}

	// A new commit redeploys; deleting the branch destroys its preview.
	r.push(t, "feature/a", "a2")
	r.answers(t, a, "a2")
	r.git(t, "branch", "-D", "feature/a")
	r.goneFrom(t, a)
	r.answers(t, dash, "dash1")

	// preview destroy by name; the rest goes with the branches.
	mustFerry(t, r.repo, r.home, nil, "preview", "destroy", strings.TrimSuffix(dash, ".localhost"))
	r.goneFrom(t, dash)
	r.git(t, "branch", "-D", long)
	r.goneFrom(t, lng)
	w.cmd.Process.Signal(syscall.SIGINT)
	if code := w.wait(t, 10*time.Second); code != 0 {
		t.Errorf("watch after SIGINT: exit %d", code)
	}

	// ferry preview create, with a TTL the sweeper enforces.
	r.pushTTL(t, "short-lived", "s1", "2s")
	res := mustFerry(t, r.repo, r.home, nil, "preview", "create", "short-lived", "-o", "json")
	var p previewDoc
	if err := json.Unmarshal([]byte(res.Stdout), &p); err != nil || p.Host != "short-lived.localhost" || p.State != "ready" {
		t.Fatalf("preview create: %v %+v\n%s", err, p, res.Stdout)
	}
	r.answers(t, p.Host, "s1")
	r.goneFrom(t, "short-lived.localhost")
	r.nothingRuns(t)
	if res := ferry(t, r.repo, r.home, nil, "preview", "destroy", "no-such-preview"); res.Code == 0 || !strings.Contains(res.Stderr, "no-such-preview") {
		t.Errorf("destroying an unknown preview: exit %d %s", res.Code, res.Stderr)
	}
}
