package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// engineImages is an engine's local images, or an engine that cannot be
// reached when err is set.
type engineImages struct {
	have map[string]bool
	err  error
}

func (e engineImages) ImageExists(_ context.Context, ref string) (bool, error) {
	return e.have[ref], e.err
}

func TestVerifyImages(t *testing.T) {
	repo := t.TempDir()
	os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	os.MkdirAll(filepath.Join(repo, "api", "Dockerfile.d"), 0o755)
	text := `app: shop
runtime: docker
services:
  web:
    command: [/shop]
  worker:
    command: [/x]
    image: {ref: "shop-worker:1"}
  cron:
    command: [/x]
    image: {ref: "shop-cron:1"}
  api:
    command: [/x]
    image: {context: api, dockerfile: Dockerfile.d}
  admin:
    command: [/x]
    image: {context: admin}
  escape:
    command: [/x]
    image: {dockerfile: ../Dockerfile}
  proc:
    runtime: process
    command: [./proc]
`
	d, err := Parse("ferry.yaml", []byte(text), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	got := d.VerifyImages(context.Background(), repo, engineImages{have: map[string]bool{"shop-worker:1": true}})
	want := []Problem{
		{"ferry.yaml", 11, 18, "services.cron.image.ref", "image shop-cron:1 is not on the Docker engine (ferry pulls nothing: build or load it first)"},
		{"ferry.yaml", 14, 39, "services.api.image.dockerfile", filepath.Join(repo, "api", "Dockerfile.d") + " is not a file"},
		{"ferry.yaml", 16, 14, "services.admin.image.dockerfile", filepath.Join(repo, "admin", "Dockerfile") + " does not exist (the image is built from it)"},
		{"ferry.yaml", 20, 25, "services.escape.image.dockerfile", `"../Dockerfile" must be a path inside the build context .`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), (&Errors{got}).Error())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}

	// An engine that cannot be reached is a problem of each service that
	// references an image; built images are still checked without it.
	down := errors.New("cannot reach the Docker engine at unix:///nowhere.sock")
	got = d.VerifyImages(context.Background(), repo, engineImages{err: down})
	refs := 0
	for _, p := range got {
		if p.Field == "services.worker.image.ref" || p.Field == "services.cron.image.ref" {
			refs++
			if p.Msg != "cannot check image "+map[string]string{"services.worker.image.ref": "shop-worker:1", "services.cron.image.ref": "shop-cron:1"}[p.Field]+": "+down.Error() {
				t.Errorf("engine down: %s", p)
			}
		}
	}
	if refs != 2 || len(got) != 5 {
		t.Errorf("engine down: got\n%s", (&Errors{got}).Error())
	}
}
