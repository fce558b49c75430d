package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractHello(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hello")
	if err := Extract("hello", dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"main.go", "handler.go", "config.go", "ferry.yaml", "go.mod"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not extracted: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "hello_test.go")); err == nil {
		t.Error("tests were extracted")
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.HasPrefix(string(mod), "module hello\n") {
		t.Errorf("go.mod = %q", mod)
	}
}

func TestExtractUnknown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	err := Extract("nope", dir)
	if err == nil || !strings.Contains(err.Error(), `no example "nope" (examples: hello)`) {
		t.Fatalf("err = %v", err)
	}
	if _, statErr := os.Stat(dir); statErr == nil {
		t.Error("a directory was created for an unknown example")
	}
}
