package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/runtime/docker"
	"github.com/ferrycd/ferry/internal/store"
)

// revisionOn is revision n running on runtime rt with image ref.
func revisionOn(t *testing.T, n int, rt, ref string) store.Revision {
	t.Helper()
	spec := RevisionSpec{Runtime: rt, Spec: config.Service{Name: "web"}}
	if ref != "" {
		spec.Spec.Image = &config.Image{Ref: ref}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return store.Revision{Number: n, Spec: b, MaskedSpec: b}
}

// serviceWith records hello's web service in production with revisions,
// each running e's artifact.
func (e *env) serviceWith(t *testing.T, revs ...store.Revision) store.Service {
	t.Helper()
	ctx := context.Background()
	if _, err := e.store.PutApp(ctx, store.App{Name: "hello"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.EnsureEnvironment(ctx, "hello", "production", store.EnvStandard); err != nil {
		t.Fatal(err)
	}
	svc, err := e.store.EnsureService(ctx, "hello", "production", "web")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revs {
		r.ServiceID, r.ArtifactDigest = svc.ID, e.artifact
		if _, err := e.store.CreateRevision(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

func TestImagesToKeep(t *testing.T) {
	docker := make([]store.Revision, 0, 6)
	for n := 6; n >= 1; n-- { // newest first
		docker = append(docker, revisionOn(t, n, config.RuntimeDocker, fmt.Sprintf("sha256:i%d", n)))
	}
	mixed := []store.Revision{revisionOn(t, 3, config.RuntimeDocker, "sha256:i3"), revisionOn(t, 2, config.RuntimeProcess, ""),
		revisionOn(t, 1, config.RuntimeDocker, "sha256:i1")}
	tests := []struct {
		name           string
		revs           []store.Revision
		keep           int
		live, rollback int
		inUse          map[int]bool
		want           []string
		docker         bool
	}{
		{"newest only", docker, 2, 6, 5, nil, []string{"sha256:i6", "sha256:i5"}, true},
		{"live and rollback outside the window", docker, 1, 3, 2, nil, []string{"sha256:i6", "sha256:i3", "sha256:i2"}, true},
		{"in use", docker, 1, 6, 0, map[int]bool{4: true}, []string{"sha256:i6", "sha256:i4"}, true},
		{"a process revision has no image", mixed, 2, 3, 0, nil, []string{"sha256:i3"}, true},
		{"process only", []store.Revision{revisionOn(t, 1, config.RuntimeProcess, "")}, 5, 1, 0, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, isDocker, err := imagesToKeep(tt.revs, keptRevisions(tt.revs, tt.keep, tt.live, tt.rollback, tt.inUse))
			if err != nil || !slices.Equal(got, tt.want) || isDocker != tt.docker {
				t.Errorf("got %v, docker %v, err %v; want %v, docker %v", got, isDocker, err, tt.want, tt.docker)
			}
		})
	}
	bad := []store.Revision{{Number: 1, Spec: json.RawMessage(`{"runtime": 7}`)}}
	if _, _, err := imagesToKeep(bad, keptRevisions(bad, 5, 1, 0, nil)); err == nil {
		t.Error("an unreadable spec: no error, so its image could be removed")
	}
}

// TestRetainRemovesImagesOfDroppedRevisions builds four images FROM scratch
// on the machine's engine for four docker revisions and checks that
// retention removes those of the revisions outside the kept set, keeps the
// others, and leaves the artifact alone.
func TestRetainRemovesImagesOfDroppedRevisions(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The images are seconds old: no grace, or none would go.
	drv := &docker.Driver{Instance: fmt.Sprintf("retain-test-%d", time.Now().UnixNano()), ImageGrace: -1}
	t.Cleanup(func() {
		drv.RemoveImages(context.Background(), nil)
		drv.Close()
	})
	images := make([]string, 5) // by revision number
	for n := 1; n <= 4; n++ {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "v"), []byte(fmt.Sprintf("%s %d", drv.Instance, n)), 0o644)
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY v /v\n"), 0o644)
		id, err := drv.Build(ctx, docker.BuildSpec{Context: dir})
		if err != nil {
			t.Fatal(err)
		}
		images[n] = id
	}
	var revs []store.Revision
	for n := 1; n <= 4; n++ {
		revs = append(revs, revisionOn(t, n, config.RuntimeDocker, images[n]))
	}
	svc := e.serviceWith(t, revs...)
	// Rolled back to r2: the newest (r4) and the live one stay.
	if _, err := e.store.SetLiveRevision(ctx, svc.ID, 2); err != nil {
		t.Fatal(err)
	}
	c := New(Deps{Store: e.store, Driver: e.driver(), Drivers: map[string]runtime.Driver{"docker": drv}, Artifacts: e.arts,
		Home: e.home, Logger: quiet, KeepRevisions: 1})
	removed, err := c.Retain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{images[1], images[3]}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v (images by revision: %v)", removed, want, images[1:])
	}
	for n := 1; n <= 4; n++ {
		ok, err := drv.ImageExists(ctx, images[n])
		if err != nil {
			t.Fatal(err)
		}
		if wantKept := n == 2 || n == 4; ok != wantKept {
			t.Errorf("image of r%d on the engine: %v, want %v", n, ok, wantKept)
		}
	}
	if err := e.arts.Verify(e.artifact); err != nil {
		t.Errorf("the artifact the kept revisions run: %v", err)
	}
}

// A build puts its artifact before the deploy that records it; a retention
// pass in between (another service's deployment ended, a preview was
// destroyed) must leave it for that deploy.
func TestRetainLeavesAJustBuiltArtifactForItsDeploy(t *testing.T) {
	e := newEnv(t)
	c := e.start()
	removed, err := c.Retain(context.Background())
	if err != nil || slices.Contains(removed, e.artifact) {
		t.Fatalf("retention before the deploy: removed %v, %v; want the fresh artifact kept", removed, err)
	}
	if err := e.wait(e.deploy(web(1, true, "HELLO_VERSION=v1")).Deployment); err != nil {
		t.Fatal(err)
	}
}
