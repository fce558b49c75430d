package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/server/wire"
	"github.com/ferrycd/ferry/test/chaos/rig"
)

// shortFerryHome is a $FERRY_HOME whose socket path fits the unix limit.
func shortFerryHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// gone polls until pid no longer runs (or is a zombie).
func gone(pid int, within time.Duration) bool { return rig.WaitGone(pid, within) }

func TestServerDetachedThenDown(t *testing.T) {
	dir := shortFerryHome(t)
	t.Cleanup(func() { ferry(t, dir, dir, nil, "down", "--timeout", "2s") })
	h, _ := home.New(dir)

	r := mustFerry(t, dir, dir, nil, "server", "--detach")
	m := regexp.MustCompile(`ferry server running \(pid (\d+)\)`).FindStringSubmatch(r.Stdout)
	if m == nil || !strings.Contains(r.Stdout, "API token (shown once") {
		t.Fatalf("server --detach output:\n%s", r.Stdout)
	}
	pid, _ := strconv.Atoi(m[1])
	tok, err := os.ReadFile(h.TokenFile())
	if err != nil || !strings.Contains(r.Stdout, strings.TrimSpace(string(tok))) {
		t.Fatalf("the token shown is not the token saved: %v", err)
	}

	c, err := client.New(h, client.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	var v wire.Version
	if err := c.Do(context.Background(), "GET", "/v1/version", nil, &v); err != nil || v.Version == "" {
		t.Fatalf("the detached server does not answer: %+v %v", v, err)
	}

	again := ferry(t, dir, dir, nil, "server")
	if again.Code == 0 || !strings.Contains(again.Stderr, fmt.Sprintf("a ferry server is already running (pid %d)", pid)) {
		t.Fatalf("second server: exit %d\n%s", again.Code, again.Stderr)
	}
	if d := ferry(t, dir, dir, nil, "server", "--detach"); d.Code == 0 || !strings.Contains(d.Stderr, "already running") {
		t.Fatalf("second --detach: exit %d\n%s", d.Code, d.Stderr)
	}

	down := mustFerry(t, dir, dir, nil, "down")
	if !strings.Contains(down.Stdout, fmt.Sprintf("stopped ferry server (pid %d)", pid)) || !strings.Contains(down.Stdout, "ferry router: not running") {
		t.Fatalf("down output:\n%s", down.Stdout)
	}
	if !gone(pid, 5*time.Second) {
		t.Fatalf("server pid %d still running after down", pid)
	}
	if _, err := os.Stat(h.ServerSocket()); !os.IsNotExist(err) {
		t.Fatalf("socket left after a graceful stop: %v", err)
	}
	logb, _ := os.ReadFile(h.DaemonLog("server"))
	if !strings.Contains(string(logb), "ferry server stopped") || strings.Contains(string(logb), strings.TrimSpace(string(tok))) {
		t.Fatalf("server log missing its stop line or holding the token:\n%s", logb)
	}
	if d := mustFerry(t, dir, dir, nil, "down"); !strings.Contains(d.Stdout, "ferry server: not running") {
		t.Fatalf("second down:\n%s", d.Stdout)
	}
	var nr *client.NotRunningError
	if err := c.Do(context.Background(), "GET", "/v1/version", nil, nil); !errors.As(err, &nr) {
		t.Fatalf("after down: %v", err)
	}

	// A restart keeps the token and shows nothing.
	r = mustFerry(t, dir, dir, nil, "server", "--detach")
	if strings.Contains(r.Stdout, "API token") {
		t.Fatalf("the token was shown again on restart:\n%s", r.Stdout)
	}
	if err := c.Do(context.Background(), "GET", "/v1/version", nil, nil); err != nil {
		t.Fatalf("the saved token after a restart: %v", err)
	}
	mustFerry(t, dir, dir, nil, "down")
}

func TestServerForegroundStopsOnSIGTERM(t *testing.T) {
	dir := shortFerryHome(t)
	h, _ := home.New(dir)
	cmd := exec.Command(ferryBin, "server", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "FERRY_HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	c, _ := client.New(h, client.Options{Local: true})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Health(context.Background()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("foreground server never answered:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "ferry server listening") || !strings.Contains(stderr.String(), "listen=127.0.0.1:") {
		t.Fatalf("server log:\n%s", stderr.String())
	}
}

func TestDownAllWithoutAServerChangesNothing(t *testing.T) {
	dir := shortFerryHome(t)
	r := ferry(t, dir, dir, nil, "down", "--all")
	if r.Code == 0 || !strings.Contains(r.Stderr, "the server is not running") {
		t.Fatalf("down --all without a server: exit %d\n%s", r.Code, r.Stderr)
	}
	for _, cmd := range []string{"server", "down"} {
		if h := mustFerry(t, dir, dir, nil, cmd, "--help"); !strings.Contains(h.Stdout, "Examples:") {
			t.Errorf("ferry %s --help has no examples", cmd)
		}
	}
}

func TestServerWithABadFlagRefusesBeforeTouchingItsHome(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--preview-workers", "0"}, "--preview-workers 0: must be at least 1"},
		{[]string{"--preview-url", "http://example.com"}, `--preview-url "http://example.com": must contain {host}`},
		{[]string{"--repo", "shop"}, `--repo "shop": want owner/name=<clone URL or local path>`},
		{[]string{"--build-cache-size", "lots"}, `--build-cache-size: invalid size "lots"`},
		{[]string{"--build-cache-size", "0"}, `--build-cache-size 0: want a size above 0`},
	} {
		for _, detach := range []bool{false, true} {
			dir := filepath.Join(shortFerryHome(t), "home")
			args := append([]string{"server"}, c.args...)
			if detach {
				args = append(args, "--detach")
			}
			r := ferry(t, t.TempDir(), dir, nil, args...)
			if r.Code == 0 || !strings.Contains(r.Stderr, c.want) {
				t.Errorf("ferry %s: exit %d, stderr %q; want non-zero naming %q", strings.Join(args, " "), r.Code, r.Stderr, c.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("ferry %s: the home %s was created (%v)", strings.Join(args, " "), dir, err)
			}
		}
	}
}

func TestDeployWithoutAServerBuildsNothingAndMakesNoHome(t *testing.T) {
	app := newHelloApp(t, t.TempDir()).Dir
	dir := filepath.Join(shortFerryHome(t), "home")
	r := ferry(t, app, dir, nil, "deploy")
	if r.Code != 1 || !strings.Contains(r.Stderr, "no ferry server at "+dir) || strings.Contains(r.Stderr, "built") {
		t.Fatalf("deploy without a server: exit %d\n%s%s\nwant exit 1 naming the missing server, before any build", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the home %s was created (%v)", dir, err)
	}
}

func TestServerPrunesTheBuildCache(t *testing.T) {
	dir := shortFerryHome(t)
	app := newHelloApp(t, dir).Dir
	mustFerry(t, app, dir, nil, "build")
	steps := filepath.Join(dir, "cache", "steps")
	layers, _ := os.ReadDir(steps)
	if len(layers) == 0 {
		t.Fatal("the build cached no layer")
	}
	// Last used two hours ago: past the grace, and over a one-byte budget.
	old := time.Now().Add(-2 * time.Hour)
	for _, l := range layers {
		if err := os.Chtimes(filepath.Join(steps, l.Name(), "layer.json"), old, old); err != nil {
			t.Fatal(err)
		}
	}
	startFerry(t, dir, dir, "server", "--build-cache-size", "1")
	eventually(t, 20*time.Second, "the server prunes the cache", func() (bool, string) {
		left, _ := os.ReadDir(steps)
		return len(left) == 0, fmt.Sprintf("%d layers left", len(left))
	})
}
