package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIgnoreRules(t *testing.T) {
	rules, err := parseIgnore(strings.NewReader("# comment\n\nnode_modules\n*.log\n!keep.log\n/build/*\n"), ".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"node_modules": true, "node_modules/x/y.js": true, "a.log": true, "keep.log": false,
		"build/out": true, "build": false, "src/main.go": false, "src/a.log": false,
	} {
		if got := ignored(rules, rel); got != want {
			t.Errorf("ignored(%q) = %v, want %v", rel, got, want)
		}
	}
	if _, err := parseIgnore(strings.NewReader("ok\n[bad\n"), "ctx/.dockerignore"); err == nil ||
		err.Error() != `ctx/.dockerignore:2: pattern "[bad": syntax error in pattern` {
		t.Fatalf("bad pattern: %v", err)
	}
}

func TestWriteContext(t *testing.T) {
	dir := writeContextDir(t, map[string]string{
		"Dockerfile": "FROM scratch\n", ".dockerignore": "secrets\n*.tmp\nDockerfile\n", "app/main": "bin",
		"secrets/key": "k", "x.tmp": "t", ".git/HEAD": "ref", "out/stale": "old",
	})
	built := writeContextDir(t, map[string]string{"hello": "new"})
	if err := os.Symlink("app/main", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeContext(&buf, dir, "Dockerfile", map[string]string{"out": built}); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d", h.Name, h.Uid, h.Gid)
		}
		if h.Name == "link" && h.Linkname != "app/main" {
			t.Errorf("link → %q", h.Linkname)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	// The Dockerfile goes even when .dockerignore names it; the overlay
	// replaces out/.
	if want := []string{".dockerignore", "Dockerfile", "app/", "app/main", "link", "out/", "out/hello"}; !slices.Equal(names, want) {
		t.Fatalf("context holds %q, want %q", names, want)
	}
}

func TestBuildResult(t *testing.T) {
	tests := []struct {
		name, stream, id, err string
	}{
		{"buildkit", `{"id":"moby.buildkit.trace","aux":"CgQ="}` + "\n" + `{"id":"moby.image.id","aux":{"ID":"sha256:aa"}}` + "\n" + `{"stream":"Successfully tagged x\n"}`, "sha256:aa", ""},
		{"classic", `{"stream":"Step 1/1"}{"aux":{"ID":"sha256:bb"}}{"stream":"Successfully built bb"}`, "sha256:bb", ""},
		{"error", `{"stream":"Step 1/2"}{"errorDetail":{"message":"COPY failed: no such file"},"error":"COPY failed: no such file"}`, "", "COPY failed: no such file"},
		{"no id", `{"stream":"hm"}`, "", "the engine reported no image ID"},
		{"garbage", `{"stream":`, "", "reading the build's output"},
	}
	for _, tt := range tests {
		id, err := buildResult(strings.NewReader(tt.stream))
		if id != tt.id || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %q, %v; want %q, %q", tt.name, id, err, tt.id, tt.err)
		}
	}
}

func TestRemovable(t *testing.T) {
	kept := map[string]bool{"sha256:k": true, "ferry/a-web:r3": true, "abc": true}
	for _, tt := range []struct {
		id   string
		tags []string
		want bool
	}{
		{"sha256:k", nil, false}, {"sha256:abc", nil, false}, {"sha256:x", []string{"ferry/a-web:r3"}, false},
		{"sha256:x", []string{"ferry/a-web:r2"}, true}, {"sha256:y", nil, true},
	} {
		if got := removable(tt.id, tt.tags, kept); got != tt.want {
			t.Errorf("removable(%s, %v) = %v", tt.id, tt.tags, got)
		}
	}
}
