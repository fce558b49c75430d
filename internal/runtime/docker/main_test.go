package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"
)

// testInstance labels everything this test binary creates on the engine, so
// that concurrent runs stay apart and the end of the run removes it all.
var testInstance = "test-" + randHex(4)

// imageDir is a build context holding static builds of examples/hello and
// of testdata/probe, and a Dockerfile FROM scratch; helloImage is its image
// ID, built once by TestMain through the driver.
var (
	imageDir   string
	helloImage string
)

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestMain builds the test image with the real engine; an engine that does
// not answer fails the run (CI checks it answers first).
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "ferry-docker-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := run(m, tmp)
	os.RemoveAll(tmp)
	os.Exit(code)
}

func run(m *testing.M, tmp string) int {
	imageDir = filepath.Join(tmp, "image")
	for out, pkg := range map[string]string{"hello": "github.com/ferrycd/ferry/examples/hello", "probe": "./testdata/probe"} {
		build := exec.Command("go", "build", "-o", filepath.Join(imageDir, out), pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			return 1
		}
	}
	dockerfile := "FROM scratch\nCOPY hello probe /\nWORKDIR /srv\nCMD [\"/hello\"]\n"
	if err := os.WriteFile(filepath.Join(imageDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	d := &Driver{Instance: testInstance}
	defer cleanup(d)
	id, err := d.Build(context.Background(), BuildSpec{Context: imageDir, Tag: "ferry-test/hello:" + testInstance})
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the test image:", err)
		return 1
	}
	helloImage = id
	return m.Run()
}

// cleanup removes every container and image labelled with testInstance.
func cleanup(d *Driver) {
	for _, suffix := range []string{"", "-other", "-gc"} {
		cleanupInstance(&Driver{Instance: testInstance + suffix})
	}
	d.Close()
}

// cleanupInstance removes every container and image labelled with d's
// instance.
func cleanupInstance(d *Driver) {
	defer d.Close()
	ctx := context.Background()
	cli, err := d.conn(ctx)
	if err != nil {
		return
	}
	f := client.Filters{}.Add("label", LabelInstance+"="+d.Instance)
	if res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range res.Items {
			cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		}
	}
	if res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: f}); err == nil {
		for _, im := range res.Items {
			cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	}
}
