package process

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferrycd/ferry/internal/runtime"
)

func TestTaskEnv(t *testing.T) {
	spec := runtime.TaskSpec{ID: "web-3-a", App: "shop", Environment: "staging", Service: "web", Revision: 3, Port: 4100,
		Env: map[string]string{"GREETING": "hi", "PATH": "/opt/app/bin", "FERRY_TASK_ID": "forged", "PORT": "1"}}
	base := []string{"PATH=/usr/bin", "HOME=/root", "AWS_SECRET_ACCESS_KEY=leak", "FERRY_HOME=/x", "TZ=UTC", "broken"}
	got := taskEnv(spec, base)
	want := []string{
		"FERRY_APP=shop", "FERRY_ENVIRONMENT=staging", "FERRY_REVISION=3", "FERRY_SERVICE=web", "FERRY_TASK_ID=web-3-a",
		"GREETING=hi", "HOME=/root", "PATH=/opt/app/bin", "PORT=4100", "TZ=UTC",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// No port: no PORT, even if spec.Env sets one; no PATH in base: a default.
	got = taskEnv(runtime.TaskSpec{ID: "w", Env: map[string]string{"PORT": "1"}}, nil)
	if lookupEnv(got, "PORT") != "" || lookupEnv(got, "PATH") != defaultPath {
		t.Fatalf("got %q", got)
	}
}

func TestResolveCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/sh\n"), 0o755)

	tests := []struct {
		command []string
		want    string // path, or error text
		err     bool
	}{
		{[]string{"./hello"}, filepath.Join(dir, "hello"), false},
		{[]string{filepath.Join(dir, "hello")}, filepath.Join(dir, "hello"), false},
		{[]string{"tool", "x"}, filepath.Join(bin, "tool"), false},
		{nil, "services.web.command: empty", true},
		{[]string{"./nope"}, "services.web.command: ./nope: not found in " + dir, true},
		{[]string{"./data"}, "services.web.command: ./data: not executable (mode -rw-r--r--) in " + dir, true},
		{[]string{"./sub"}, "services.web.command: ./sub: is a directory in " + dir, true},
		{[]string{"nope"}, "services.web.command: nope: not found in the task's PATH (rel:" + bin + ")", true},
	}
	for _, tt := range tests {
		got, err := resolveCommand("services.web.command", tt.command, dir, "rel:"+bin)
		if tt.err {
			if err == nil || err.Error() != tt.want {
				t.Errorf("%q: err = %v, want %q", tt.command, err, tt.want)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.command, got, err, tt.want)
		}
	}
}
