package rig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// RepoRoot is the module root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Build compiles ./cmd/ferry into a new temporary directory and returns the
// binary's path; remove its directory when done.
func Build() (string, error) {
	dir, err := os.MkdirTemp("", "ferry-chaos-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building ferry: %v\n%s", err, out)
	}
	return bin, nil
}
