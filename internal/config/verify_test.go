package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVerify(t *testing.T) {
	rel := t.TempDir()
	os.WriteFile(filepath.Join(rel, "shop"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(rel, "flush"), []byte("#!/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(rel, "warm"), []byte("#!/bin/sh\n"), 0o755)
	os.Mkdir(filepath.Join(rel, "bin"), 0o755)
	text := `app: shop
services:
  web:
    command: [./shop, serve]
    port: http
    hooks:
      pre_stop: {command: [./flush]}
      launch: {command: [warm]}
      before_traffic: {command: [sh, -c, "true"]}
  worker:
    command: [./missing]
  tool:
    command: [./bin]
  img:
    runtime: docker
    command: [./not-checked]
`
	d, err := Parse("ferry.yaml", []byte(text), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{"ferry.yaml", 5, 11, "services.web.port", "a service with a port needs health.path: ferry puts a task in rotation only after its health check passes"},
		{"ferry.yaml", 7, 27, "services.web.hooks.pre_stop.command", filepath.Join(rel, "flush") + " is not executable (mode 0644)"},
		{"ferry.yaml", 8, 25, "services.web.hooks.launch.command", `"warm" is not on $PATH (write ./warm for the program in ` + rel + ")"},
		{"ferry.yaml", 11, 14, "services.worker.command", filepath.Join(rel, "missing") + " does not exist"},
		{"ferry.yaml", 13, 14, "services.tool.command", filepath.Join(rel, "bin") + " is a directory, not a program"},
	}
	got := d.Verify(rel)
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), (&Errors{got}).Error())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
	// Without a directory only the definition-level checks run.
	if got := d.Verify(""); len(got) != 1 {
		t.Errorf("Verify(\"\") = %v", got)
	}
}
