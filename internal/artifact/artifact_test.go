package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/home"
)

func newStore(t *testing.T) Store {
	t.Helper()
	h, err := home.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Store{Home: h}
}

// writeTree creates files (path → content) under dir; a path ending in "*"
// is made executable, one ending in "/" is an empty directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if d, ok := strings.CutSuffix(name, "/"); ok {
			must(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
			continue
		}
		mode := fs.FileMode(0o644)
		if n, ok := strings.CutSuffix(name, "*"); ok {
			name, mode = n, 0o755
		}
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), mode))
		must(t, os.Chmod(p, mode))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var sample = map[string]string{
	"bin/app*":        "#!/bin/sh\necho hi\n",
	"config/app.conf": "port=1\n",
	"README":          "readme\n",
	"empty/":          "",
}

func TestPutIsDeterministic(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, sample)
	must(t, os.Symlink("bin/app", filepath.Join(a, "run")))
	writeTree(t, b, sample)
	must(t, os.Symlink("bin/app", filepath.Join(b, "run")))
	// Different mtimes must not change the digest.
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, os.Chtimes(filepath.Join(b, "README"), old, old))

	pa, err := s.Put(ctx, a)
	must(t, err)
	pb, err := s.Put(ctx, b)
	must(t, err)
	if pa.Digest != pb.Digest {
		t.Fatalf("same tree, different digests: %s vs %s", pa.Digest, pb.Digest)
	}
	if pa.Size <= 0 || pa.Path != pb.Path {
		t.Fatalf("artifact %+v vs %+v", pa, pb)
	}
	sum := sha256.Sum256(mustRead(t, pa.Path))
	if want := "sha256:" + hex.EncodeToString(sum[:]); pa.Digest != want {
		t.Fatalf("digest %s, file hashes to %s", pa.Digest, want)
	}
	if n := countFiles(t, s.Home.ArtifactsDir()); n != 1 {
		t.Fatalf("%d files in the store, want 1 (stored once, no temp left)", n)
	}

	must(t, os.Chmod(filepath.Join(b, "README"), 0o755))
	pm, err := s.Put(ctx, b)
	must(t, err)
	if pm.Digest == pa.Digest {
		t.Fatal("a mode change did not change the digest")
	}
	must(t, os.WriteFile(filepath.Join(b, "README"), []byte("readme!\n"), 0o755))
	pc, err := s.Put(ctx, b)
	must(t, err)
	if pc.Digest == pm.Digest {
		t.Fatal("a content change did not change the digest")
	}
}

func TestPutRefusesBadInput(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	must(t, os.Symlink("../../etc/passwd", filepath.Join(dir, "evil")))
	_, err := s.Put(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "evil") || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("escaping symlink: got %v", err)
	}
	_, err = s.Put(context.Background(), filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing dir: got %v", err)
	}
	if n := countFiles(t, s.Home.ArtifactsDir()); n != 0 {
		t.Fatalf("%d files left in the store after failed puts", n)
	}
	if _, err := (Store{}).Put(context.Background(), dir); err == nil {
		t.Fatal("zero Store: want an error naming the missing home")
	}
}

func TestUnpackIsReadOnlyAndFaithful(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, sample)
	must(t, os.Symlink("bin/app", filepath.Join(src, "run")))
	a, err := s.Put(ctx, src)
	must(t, err)
	rel, err := s.Unpack(ctx, a.Digest)
	must(t, err)
	if want := filepath.Join(s.Home.ReleasesDir(), strings.TrimPrefix(a.Digest, "sha256:")); rel != want {
		t.Fatalf("release dir %s, want %s", rel, want)
	}
	modes := map[string]fs.FileMode{
		".": fs.ModeDir | 0o555, "bin": fs.ModeDir | 0o555, "bin/app": 0o555,
		"config": fs.ModeDir | 0o555, "config/app.conf": 0o444, "README": 0o444, "empty": fs.ModeDir | 0o555,
	}
	for name, want := range modes {
		fi, err := os.Lstat(filepath.Join(rel, name))
		must(t, err)
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	if got := string(mustRead(t, filepath.Join(rel, "bin/app"))); got != sample["bin/app*"] {
		t.Errorf("bin/app content %q", got)
	}
	if target, err := os.Readlink(filepath.Join(rel, "run")); err != nil || target != "bin/app" {
		t.Errorf("symlink run -> %q, %v", target, err)
	}
	// A second unpack reuses the directory.
	again, err := s.Unpack(ctx, a.Digest)
	must(t, err)
	if again != rel {
		t.Fatalf("second unpack %s, want %s", again, rel)
	}
}

func TestConcurrentUnpacksAgree(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, sample)
	a, err := s.Put(ctx, src)
	must(t, err)
	const n = 8
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dirs[i], errs[i] = s.Unpack(ctx, a.Digest) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("unpack %d: %s, %v (first: %s)", i, dirs[i], errs[i], dirs[0])
		}
	}
	entries, err := os.ReadDir(s.Home.ReleasesDir())
	must(t, err)
	if len(entries) != 1 {
		t.Fatalf("releases dir holds %d entries, want 1 (temp dirs left behind?)", len(entries))
	}
}

// entry is one crafted archive entry.
type entry struct {
	name, link, body string
	typ              byte
}

func craft(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		must(t, tw.WriteHeader(hdr))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func TestExtractRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
	}{
		{"parent", []entry{{name: "../evil", body: "x", typ: tar.TypeReg}}},
		{"nested parent", []entry{{name: "a/../../evil", body: "x", typ: tar.TypeReg}}},
		{"absolute", []entry{{name: "/tmp/evil", body: "x", typ: tar.TypeReg}}},
		{"absolute symlink", []entry{{name: "l", link: "/etc", typ: tar.TypeSymlink}}},
		{"symlink up", []entry{{name: "l", link: "..", typ: tar.TypeSymlink}}},
		{"symlink up nested", []entry{{name: "a/l", link: "../../x", typ: tar.TypeSymlink}}},
		{"write through a link chain", []entry{
			{name: "d/", typ: tar.TypeDir},
			{name: "d/l", link: "..", typ: tar.TypeSymlink},
			{name: "d/l/l2", link: "../..", typ: tar.TypeSymlink},
			{name: "d/l/l2/evil", body: "x", typ: tar.TypeReg},
		}},
		{"hard link", []entry{{name: "h", link: "/etc/passwd", typ: tar.TypeLink}}},
		{"device", []entry{{name: "dev", typ: tar.TypeChar}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outer := t.TempDir()
			dest := filepath.Join(outer, "a", "b")
			must(t, os.MkdirAll(dest, 0o755))
			err := Extract(context.Background(), bytes.NewReader(craft(t, tt.entries)), dest)
			if err == nil {
				t.Fatal("malicious archive extracted without error")
			}
			t.Log(err)
			// Nothing may appear outside dest.
			filepath.WalkDir(outer, func(p string, d fs.DirEntry, err error) error {
				if p != outer && p != filepath.Join(outer, "a") && !strings.HasPrefix(p, dest) {
					t.Errorf("extraction wrote outside the destination: %s", p)
				}
				return nil
			})
		})
	}
}

func TestUnpackRefusesMaliciousArchive(t *testing.T) {
	s := newStore(t)
	data := craft(t, []entry{{name: "ok", body: "fine", typ: tar.TypeReg}, {name: "../../escaped", body: "x", typ: tar.TypeReg}})
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	must(t, os.MkdirAll(s.Home.ArtifactsDir(), 0o700))
	must(t, os.WriteFile(filepath.Join(s.Home.ArtifactsDir(), h+".tar.gz"), data, 0o444))
	_, err := s.Unpack(context.Background(), "sha256:"+h)
	if err == nil || !strings.Contains(err.Error(), "../../escaped") {
		t.Fatalf("got %v, want an error naming the entry", err)
	}
	entries, _ := os.ReadDir(s.Home.ReleasesDir())
	if len(entries) != 0 {
		t.Fatalf("release dir left behind: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(s.Home.Root(), "escaped")); err == nil {
		t.Fatal("entry escaped the release directory")
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, sample)
	a, err := s.Put(ctx, src)
	must(t, err)
	must(t, s.Verify(a.Digest))

	data := mustRead(t, a.Path)
	data[len(data)/2] ^= 0xff
	must(t, os.Chmod(a.Path, 0o644))
	must(t, os.WriteFile(a.Path, data, 0o644))
	for _, err := range []error{s.Verify(a.Digest), unpackErr(s, a.Digest)} {
		if err == nil || !strings.Contains(err.Error(), a.Digest) || !strings.Contains(err.Error(), a.Path) || !strings.Contains(err.Error(), "corrupted") {
			t.Fatalf("got %v, want corruption error naming digest and path", err)
		}
	}
	must(t, os.Remove(a.Path))
	if err := s.Verify(a.Digest); err == nil || !strings.Contains(err.Error(), "not in the store") {
		t.Fatalf("missing artifact: got %v", err)
	}
	if err := s.Verify("sha256:../../etc"); err == nil || !strings.Contains(err.Error(), "sha256:<64") {
		t.Fatalf("malformed digest: got %v", err)
	}
}

func unpackErr(s Store, d string) error {
	_, err := s.Unpack(context.Background(), d)
	return err
}

func TestRetainKeepsWhatItIsTold(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var digests []string
	for i, body := range []string{"one", "two", "three"} {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"f": body})
		a, err := s.Put(ctx, dir)
		must(t, err)
		digests = append(digests, a.Digest)
		if i < 2 {
			_, err := s.Unpack(ctx, a.Digest)
			must(t, err)
		}
	}
	if _, err := s.Retain(ctx, []string{digests[0], "bogus"}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("bad keep list: got %v", err)
	}
	for _, d := range digests {
		must(t, s.Verify(d)) // nothing removed by the failed call
	}

	// Just put, so not yet deployed: within the grace nothing goes.
	removed, err := s.Retain(ctx, []string{digests[0]})
	if err != nil || len(removed) != 0 {
		t.Fatalf("retain within the grace: removed %v, %v", removed, err)
	}
	for _, d := range digests {
		must(t, s.Verify(d))
	}
	hourAgo := time.Now().Add(-time.Hour)
	for _, d := range digests {
		p, err := s.Path(d)
		must(t, err)
		must(t, os.Chtimes(p, hourAgo, hourAgo))
	}
	removed, err = s.Retain(ctx, []string{digests[0]})
	must(t, err)
	want := slices.Sorted(slices.Values(digests[1:]))
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	must(t, s.Verify(digests[0]))
	if _, err := os.Stat(filepath.Join(s.Home.ReleasesDir(), strings.TrimPrefix(digests[0], "sha256:"), "f")); err != nil {
		t.Fatalf("kept release dir: %v", err)
	}
	for _, d := range digests[1:] {
		if s.Verify(d) == nil {
			t.Errorf("%s still stored", d)
		}
		if _, err := os.Stat(filepath.Join(s.Home.ReleasesDir(), strings.TrimPrefix(d, "sha256:"))); err == nil {
			t.Errorf("%s release dir still there", d)
		}
	}
	removed, err = s.Retain(ctx, []string{digests[0]})
	if err != nil || len(removed) != 0 {
		t.Fatalf("second retain: %v, %v", removed, err)
	}
	// A negative grace is none: a fresh archive goes at once.
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f": "four"})
	fresh, err := s.Put(ctx, dir)
	must(t, err)
	s.Grace = -1
	if removed, err = s.Retain(ctx, []string{digests[0]}); err != nil || !slices.Equal(removed, []string{fresh.Digest}) {
		t.Fatalf("retain without a grace: removed %v, %v; want %s", removed, err, fresh.Digest)
	}
}

func TestParseDigest(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		in string
		ok bool
	}{
		{good, true},
		{strings.ToUpper(good), false},
		{strings.TrimPrefix(good, "sha256:"), false},
		{"sha512:" + strings.Repeat("ab", 32), false},
		{good[:len(good)-1], false},
		{"sha256:" + strings.Repeat("zz", 32), false},
		{"sha256:../" + strings.Repeat("a", 61), false},
		{"", false},
	}
	for _, tt := range tests {
		_, err := ParseDigest(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseDigest(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0
	}
	must(t, err)
	return len(entries)
}
