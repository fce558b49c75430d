package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/ferrycd/ferry/internal/runtime/docker"
)

// writeDocker writes hello's ferry.yaml for the docker runtime and its
// Dockerfile.
func (a helloApp) writeDocker(t *testing.T, s helloSpec) {
	t.Helper()
	a.write(t, s)
	a.dockerize(t)
}

// dockerize turns the ferry.yaml written for processes into the docker
// runtime's, and writes a Dockerfile FROM scratch that copies ferry's build
// output (out/) into the image's root: nothing is pulled.
func (a helloApp) dockerize(t *testing.T) {
	t.Helper()
	text, err := os.ReadFile(a.File)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(text), "app: hello\n", "app: hello\nruntime: docker\n", 1)
	doc = strings.Replace(doc, "command: [./hello]", "command: [/hello]", 1)
	if err := os.WriteFile(a.File, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM scratch\nCOPY out/ /\nCMD [\"/hello\"]\n"
	if err := os.WriteFile(filepath.Join(a.Dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
}

// upDocker starts router and server in home and deploys the app as written
// on the machine's engine; at cleanup no container of home may be left, and
// the images the test built are removed.
func upDocker(t *testing.T, cli *client.Client, home string, app helloApp) (addr string, up result) {
	t.Helper()
	addr = freeAddr(t)
	t.Cleanup(func() {
		if r := ferry(t, home, home, nil, "down", "--all"); r.Code != 0 {
			t.Errorf("down --all: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		if left := containers(t, cli, home); len(left) > 0 {
			t.Errorf("containers left after down --all: %+v", left)
		}
		// Images stay for rollbacks; the test's own are removed.
		f := client.Filters{}.Add("label", docker.LabelInstance+"="+docker.InstanceFor(home))
		if res, err := cli.ImageList(context.Background(), client.ImageListOptions{Filters: f}); err == nil {
			for _, im := range res.Items {
				cli.ImageRemove(context.Background(), im.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
		}
	})
	return addr, mustFerry(t, app.Dir, home, nil, "up", "--listen", addr)
}

// container is one container of a ferry home, as the engine reports it:
// the ground truth ferry's status is checked against.
type container struct {
	ID, Task, Revision, Image string
}

// engine is a client of the machine's Docker engine; a test that cannot
// reach it fails.
func engine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	if _, err := cli.Ping(context.Background(), client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatalf("the Docker engine does not answer: %v", err)
	}
	return cli
}

// containers lists the running containers labelled with home's instance.
func containers(t *testing.T, cli *client.Client, home string) []container {
	t.Helper()
	f := client.Filters{}.Add("label", docker.LabelInstance+"="+docker.InstanceFor(home))
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var out []container
	for _, c := range res.Items {
		out = append(out, container{ID: c.ID, Task: c.Labels[docker.LabelTaskID], Revision: c.Labels[docker.LabelRevision], Image: c.ImageID})
	}
	slices.SortFunc(out, func(a, b container) int { return strings.Compare(a.Task, b.Task) })
	return out
}

// expectContainers waits until exactly count containers of revision rev run.
func expectContainers(t *testing.T, cli *client.Client, home string, count, rev int) []container {
	t.Helper()
	var got []container
	eventually(t, 30*time.Second, fmt.Sprintf("%d containers of r%d", count, rev), func() (bool, string) {
		got = containers(t, cli, home)
		if len(got) != count {
			return false, fmt.Sprintf("%+v", got)
		}
		for _, c := range got {
			if c.Revision != fmt.Sprint(rev) {
				return false, fmt.Sprintf("%+v", got)
			}
		}
		return true, ""
	})
	return got
}

// TestDockerRuntime deploys hello as containers of the machine's engine
// through the same CLI as processes: rolling deploy under load, automatic
// rollback, rollback to the exact image, logs, exec, and kill -9 of the
// server with the containers adopted.
func TestDockerRuntime(t *testing.T) {
	cli := engine(t)
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	app.writeDocker(t, helloSpec{Count: 2, Env: map[string]string{"HELLO_VERSION": "v1"}})
	addr, up := upDocker(t, cli, home, app)
	if !strings.Contains(up.Stderr, "web: built image sha256:") {
		t.Errorf("up did not build the image:\n%s", up.Stderr)
	}
	answersVersion(t, addr, "v1")
	v1 := expectContainers(t, cli, home, 2, 1)
	if _, err := cli.ImageInspect(context.Background(), "ferry/hello-web:r1"); err != nil {
		t.Errorf("image ferry/hello-web:r1: %v", err)
	}

	t.Run("rolling v1 to v2 under load", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		// A new binary: a new image.
		if err := os.WriteFile(filepath.Join(app.Dir, "version.go"), []byte("package main\n\nconst built = 2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		app.writeDocker(t, helloSpec{Count: 2, Env: map[string]string{"HELLO_VERSION": "v2"}})
		if r := mustFerry(t, app.Dir, home, nil, "deploy"); !strings.Contains(r.Stdout, "r1 → r2 succeeded") {
			t.Errorf("deploy v2 output:\n%s", r.Stdout)
		}
		v2 := expectContainers(t, cli, home, 2, 2)
		if v2[0].Image == v1[0].Image {
			t.Errorf("r2 runs r1's image %s though the binary changed", v1[0].Image)
		}
		r := l.expectNoFailures(t, 100)
		if r.Versions["v1"] == 0 || r.Versions["v2"] == 0 {
			t.Errorf("answers per version %v: want both v1 and v2", r.Versions)
		}
	})

	t.Run("unhealthy v3 is rolled back", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		app.writeDocker(t, helloSpec{Count: 2, Env: map[string]string{"HELLO_VERSION": "v3", "HELLO_UNHEALTHY": "1"}})
		r := ferry(t, app.Dir, home, nil, "deploy")
		if r.Code != 2 || !strings.Contains(r.Stderr, "rolled back to r2") {
			t.Fatalf("deploy v3: exit %d, want 2 saying it was rolled back\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		answersVersion(t, addr, "v2")
		expectContainers(t, cli, home, 2, 2)
		if rep := l.expectNoFailures(t, 50); rep.Versions["v3"] > 0 {
			t.Errorf("%d answers came from the unhealthy v3", rep.Versions["v3"])
		}
	})

	t.Run("rollback runs the exact image of r1", func(t *testing.T) {
		l := startLoad(t, addr, loadOptions{})
		mustFerry(t, app.Dir, home, nil, "rollback", "web", "--to", "1")
		answersVersion(t, addr, "v1")
		for _, c := range expectContainers(t, cli, home, 2, 1) {
			if c.Image != v1[0].Image {
				t.Errorf("rolled-back task %s runs %s, want r1's image %s", c.Task, c.Image, v1[0].Image)
			}
		}
		l.expectNoFailures(t, 50)
	})

	t.Run("logs and exec", func(t *testing.T) {
		if r := mustFerry(t, app.Dir, home, nil, "logs", "web"); !strings.Contains(r.Stdout, "listening on") {
			t.Errorf("logs web:\n%s", r.Stdout)
		}
		// A second hello inside a task finds the task's PORT taken: exec
		// runs in the container, with its environment.
		r := ferry(t, app.Dir, home, nil, "exec", "web", "--", "/hello")
		if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "bind: address already in use") {
			t.Errorf("exec web -- /hello: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})

	t.Run("kill -9 of the server: containers adopted", func(t *testing.T) {
		before := expectContainers(t, cli, home, 2, 1)
		l := startLoad(t, addr, loadOptions{})
		killServerAndRestart(t, l, app.Dir, home)
		eventually(t, 30*time.Second, "2 healthy tasks after the restart", func() (bool, string) {
			s := serviceState(t, app.Dir, home)
			return s.Healthy == 2, fmt.Sprintf("%+v", s)
		})
		after := expectContainers(t, cli, home, 2, 1)
		if !slices.Equal(after, before) {
			t.Errorf("containers after the restart %+v, want the same %+v adopted", after, before)
		}
		// The load runs on past the restart, which may take under a second.
		eventually(t, 20*time.Second, "250 answers in all", func() (bool, string) {
			return l.Answered() >= 250, fmt.Sprintf("%d answers", l.Answered())
		})
		l.expectNoFailures(t, 250)
	})
}

// TestDockerCanary runs the canary scenarios on the docker runtime.
func TestDockerCanary(t *testing.T) { testCanary(t, onDocker) }

// TestDockerBlueGreen runs the blue/green scenarios on the docker runtime.
func TestDockerBlueGreen(t *testing.T) { testBlueGreen(t, onDocker) }

// TestDockerImmutable runs the immutable scenario on the docker runtime.
func TestDockerImmutable(t *testing.T) { testImmutable(t, onDocker) }
