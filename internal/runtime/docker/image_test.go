package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
)

// writeContextDir makes a build context of files (path → content).
func writeContextDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildImageReusesTheCacheAndRecordsTheDigest(t *testing.T) {
	d := newDriver(t)
	ctx := context.Background()
	tag := ImageTag("Shop", "web", 7) + "-" + testInstance
	if !strings.HasPrefix(tag, "ferry/shop-web:r7-") {
		t.Fatalf("ImageTag = %q", tag)
	}
	first, err := d.Build(ctx, BuildSpec{Context: imageDir, Dockerfile: "Dockerfile", Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	// TestMain built the same context: the cache gives the same image, not
	// a new one with a new creation time.
	if first != helloImage || !strings.HasPrefix(first, "sha256:") || len(first) != 71 {
		t.Fatalf("rebuild gave %s, want the cached %s", first, helloImage)
	}
	for _, ref := range []string{tag, first} {
		if ok, err := d.ImageExists(ctx, ref); err != nil || !ok {
			t.Fatalf("ImageExists(%s) = %v, %v", ref, ok, err)
		}
	}
	if ok, err := d.ImageExists(ctx, "ferry-test/absent:r1"); err != nil || ok {
		t.Fatalf("ImageExists(absent) = %v, %v", ok, err)
	}
	// The digest runs exactly that image whatever the tag names later.
	st := start(t, d, runtime.TaskSpec{ID: "worker-digest-" + randHex(3), Service: "worker", Image: first, Command: []string{"/probe", "wait"}})
	if c := engineInspect(t, d, st.Handle); c.Image != first {
		t.Fatalf("container runs %s, want %s", c.Image, first)
	}
}

func TestBuildImageErrorsNameTheProblem(t *testing.T) {
	d := newDriver(t)
	ctx := context.Background()
	dir := writeContextDir(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY nope /nope\n", "sub/Dockerfile.ok": "FROM scratch\n"})
	tests := []struct {
		dockerfile, want string
	}{
		{"Dockerfile", `"/nope" not found`},
		{"Missing", "image.dockerfile: Missing not found in the build context " + dir},
		{"../Dockerfile", `image.dockerfile "../Dockerfile": must be a path inside the build context`},
	}
	for _, tt := range tests {
		_, err := d.Build(ctx, BuildSpec{Context: dir, Dockerfile: tt.dockerfile})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Build(%s): %v, want %q", tt.dockerfile, err, tt.want)
		}
	}
	// A Dockerfile in a subdirectory builds.
	if _, err := d.Build(ctx, BuildSpec{Context: dir, Dockerfile: "sub/Dockerfile.ok"}); err != nil {
		t.Fatalf("sub/Dockerfile.ok: %v", err)
	}
}

func TestRemoveImagesKeepsWhatIsKeptOrInUse(t *testing.T) {
	d := &Driver{Instance: testInstance + "-gc", ImageGrace: -1} // the images are seconds old
	t.Cleanup(func() { cleanupInstance(d) })
	ctx := context.Background()
	build := func(content, tag string) string {
		dir := writeContextDir(t, map[string]string{"f": content, "Dockerfile": "FROM ferry-test/hello:" + testInstance + "\nCOPY f /f\n"})
		id, err := d.Build(ctx, BuildSpec{Context: dir, Dockerfile: "Dockerfile", Tag: tag})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	kept := build("kept "+randHex(4), "ferry-test/gc:kept-"+testInstance)
	byTag := build("by tag "+randHex(4), "ferry-test/gc:bytag-"+testInstance)
	inUse := build("in use "+randHex(4), "ferry-test/gc:inuse-"+testInstance)
	stale := build("stale "+randHex(4), "ferry-test/gc:stale-"+testInstance)
	st, err := d.Start(ctx, runtime.TaskSpec{ID: "worker-gc-" + randHex(3), Service: "worker", Image: inUse, Command: []string{"/probe", "wait"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(ctx, st.Handle, "KILL", time.Second); d.Remove(ctx, st.Handle) })

	// With the default grace, images built seconds ago are not taken,
	// stale or not: a deploy may be about to record the revision naming one.
	young := &Driver{Instance: d.Instance}
	t.Cleanup(func() { young.Close() })
	if removed, err := young.RemoveImages(ctx, nil); err != nil || len(removed) != 0 {
		t.Fatalf("with the default grace, images seconds old were removed: %v %v", removed, err)
	}
	removed, err := d.RemoveImages(ctx, []string{kept, "ferry-test/gc:bytag-" + testInstance})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != stale {
		t.Fatalf("removed %v, want only the stale image %s", removed, stale)
	}
	for id, want := range map[string]bool{kept: true, byTag: true, inUse: true, stale: false, helloImage: true} {
		if ok, _ := d.ImageExists(ctx, id); ok != want {
			t.Errorf("image %s exists = %v, want %v", id, ok, want)
		}
	}
}
