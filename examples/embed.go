// Package examples owns the example apps built into the ferry binary, so
// that `ferry up --example NAME` works from an installed binary without the
// source tree. It writes an example's sources where it is told and nothing
// else; building and deploying them is the CLI's job.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed hello/*.go hello/ferry.yaml
var files embed.FS

// goMod makes an extracted example a module of its own: the go directive
// selects net/http's method-and-wildcard routing the examples use.
const goMod = "module %s\n\ngo 1.22\n"

// Names lists the examples.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Extract writes example name (its sources, ferry.yaml and a go.mod; not its
// tests) into dir, replacing files of the same name, and returns dir.
func Extract(name, dir string) error {
	entries, err := fs.ReadDir(files, name)
	if err != nil || name == "." {
		return fmt.Errorf("no example %q (examples: %s)", name, strings.Join(Names(), ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		data, err := files.ReadFile(path.Join(name, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte(fmt.Sprintf(goMod, name)), 0o644)
}
