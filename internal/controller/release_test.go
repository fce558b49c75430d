package controller

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/home"
)

// TestReleaseReusesTheUnpackedDirectory: the tasks of a batch share one
// unpack (the archive is not hashed again per task), and a release
// directory that went away is unpacked, and so verified, afresh.
func TestReleaseReusesTheUnpackedDirectory(t *testing.T) {
	dir, err := os.MkdirTemp("", "fcr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { artifact.ForceRemove(dir) })
	h, err := home.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	arts := artifact.Store{Home: h}
	a, err := arts.Put(ctx, helloOut)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Deps{Artifacts: arts, Home: h, Logger: quiet})

	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = c.release(ctx, a.Digest) })
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("concurrent release %d: %q %v, want %q", i, dirs[i], errs[i], dirs[0])
		}
	}
	if _, err := os.Stat(dirs[0] + "/hello"); err != nil {
		t.Fatalf("release directory without the app: %v", err)
	}

	// Corrupt the archive: a release already unpacked is used as it is.
	data, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.Chmod(a.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.release(ctx, a.Digest); err != nil || got != dirs[0] {
		t.Fatalf("release after unpacking: %q %v, want %q without hashing the archive again", got, err, dirs[0])
	}
	// Once the directory is gone, the archive is unpacked, and verified, again.
	if err := artifact.ForceRemove(dirs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.release(ctx, a.Digest); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("release of a removed directory from a corrupted archive: %v, want the corruption reported", err)
	}
}
