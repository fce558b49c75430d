package process

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRotatorKeepsNewestFilesCutBetweenLines(t *testing.T) {
	dir := t.TempDir()
	r, err := openRotator(dir, 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		fmt.Fprintf(r, "line %02d\n", i) // 8 bytes: two lines per file
	}
	r.Close()
	files, err := logFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "output.log.2"), filepath.Join(dir, "output.log.1"), filepath.Join(dir, "output.log")}
	if !slices.Equal(files, want) {
		t.Fatalf("files %q, want %q", files, want)
	}
	var all string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all += string(b)
	}
	if all != "line 04\nline 05\nline 06\nline 07\nline 08\nline 09\n" {
		t.Fatalf("kept %q", all)
	}
}

func TestRotatorAppendsAfterRestartAndTakesOversizedLines(t *testing.T) {
	dir := t.TempDir()
	r, _ := openRotator(dir, 10, 1)
	r.Write([]byte("abc\n"))
	r.Close()
	// A new shim (say, none: the same file reopened) appends and counts the
	// existing bytes.
	r, _ = openRotator(dir, 10, 1)
	r.Write([]byte("defgh\n"))                  // 4+6 = 10: fits
	r.Write([]byte("a line longer than max\n")) // rotates, then written whole
	r.Close()
	b1, _ := os.ReadFile(filepath.Join(dir, "output.log.1"))
	b0, _ := os.ReadFile(filepath.Join(dir, "output.log"))
	if string(b1) != "abc\ndefgh\n" || string(b0) != "a line longer than max\n" {
		t.Fatalf(".1 = %q, current = %q", b1, b0)
	}
}

func TestOpenRotatorRejectsBadSettings(t *testing.T) {
	if _, err := openRotator(t.TempDir(), 0, 1); err == nil {
		t.Fatal("max 0 accepted")
	}
}

func TestLogFilesIgnoresOtherNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"output.log", "output.log.10", "output.log.2", "output.log.x", "output.log.0", "other"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	files, _ := logFiles(dir)
	want := []string{filepath.Join(dir, "output.log.10"), filepath.Join(dir, "output.log.2"), filepath.Join(dir, "output.log")}
	if !slices.Equal(files, want) {
		t.Fatalf("files %q, want %q", files, want)
	}
}
