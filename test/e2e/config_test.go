package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestInitWritesAStarterThatVerifies(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/hello\n\ngo 1.22\n", 0o644)
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() {}\n", 0o644)

	mustFerry(t, dir, home, nil, "init")
	data, err := os.ReadFile(filepath.Join(dir, "ferry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app: hello", "go build -o out/hello .", "command: [./hello]"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("starter lacks %q:\n%s", want, data)
		}
	}

	r := ferry(t, dir, home, nil, "init")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ferry.yaml already exists (use --force to overwrite)") {
		t.Errorf("second init: exit %d, stderr %q", r.Code, r.Stderr)
	}
	writeFile(t, filepath.Join(dir, "ferry.yaml"), "edited\n", 0o644)
	mustFerry(t, dir, home, nil, "init", "--force")
	if data, _ := os.ReadFile(filepath.Join(dir, "ferry.yaml")); !strings.Contains(string(data), "app: hello") {
		t.Errorf("--force did not overwrite:\n%s", data)
	}

	// The starter is a valid definition; with a built release its command checks out.
	release := t.TempDir()
	writeFile(t, filepath.Join(release, "hello"), "#!/bin/sh\n", 0o755)
	r = mustFerry(t, dir, home, nil, "verify", "--release", release)
	if !strings.Contains(r.Stdout, "ferry.yaml: ok (app hello, services: web)") {
		t.Errorf("verify stdout: %q", r.Stdout)
	}
}

const e2eDef = `app: shop
services:
  web:
    command: [./shop, serve]
    port: http
    health: {path: /healthz}
    routes: [{host: shop.example.com}]
    env:
      DATABASE_URL: 'postgres://app:{{ secret "DB_PASSWORD" }}@db/shop'
      REGION: '{{ env "REGION" "tokyo" }}'
environments:
  staging: {services: {web: {count: 2}}}
`

func TestRenderMasksSecrets(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "ferry.yaml"), e2eDef, 0o644)
	writeFile(t, filepath.Join(home, "secrets", "DB_PASSWORD"), "correct-horse-battery\n", 0o600)

	r := mustFerry(t, dir, home, []string{"REGION=osaka"}, "render", "--env", "staging")
	if strings.Contains(r.Stdout, "correct-horse") || strings.Contains(r.Stderr, "correct-horse") {
		t.Fatalf("render leaks the secret:\n%s", r.Stdout)
	}
	for _, want := range []string{"DATABASE_URL: postgres://app:***@db/shop", "REGION: osaka", "count: 2", "interval: 1s"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("render lacks %q:\n%s", want, r.Stdout)
		}
	}

	r = mustFerry(t, dir, home, nil, "render", "-o", "json")
	var doc struct {
		App      string
		Services map[string]struct {
			Env   map[string]string
			Count int
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("render -o json: %v\n%s", err, r.Stdout)
	}
	if doc.App != "shop" || doc.Services["web"].Env["DATABASE_URL"] != "postgres://app:***@db/shop" || doc.Services["web"].Count != 1 {
		t.Errorf("json render: %+v", doc)
	}

	// A secret file others can read is refused, without showing its value.
	writeFile(t, filepath.Join(home, "secrets", "DB_PASSWORD"), "correct-horse-battery\n", 0o644)
	r = ferry(t, dir, home, nil, "render")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ferry.yaml:9:21: services.web.env.DATABASE_URL:") ||
		!strings.Contains(r.Stderr, "is readable by group or others (mode 0644)") || strings.Contains(r.Stderr, "correct-horse") {
		t.Errorf("exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

func TestVerifyListsEveryProblem(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "ferry.yaml"), `app: shop
services:
  web:
    command: [./shop]
    port: http
    helth: {path: /healthz}
    deploy: {strategy: canary, steps: [{weight: 120}]}
environments:
  staging: {services: {wbe: {count: 2}}}
`, 0o644)
	r := ferry(t, dir, home, nil, "verify")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	want := []string{
		`ferry.yaml:6:5: services.web.helth: unknown field; did you mean "health"?`,
		`ferry.yaml:7:49: services.web.deploy.steps[0].weight: 120 out of range: must be between 0 and 100`,
		`ferry.yaml:9:24: environments.staging.services.wbe: no service "wbe" in services; did you mean "web"?`,
	}
	if got := strings.TrimSpace(r.Stdout); got != strings.Join(want, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if !strings.Contains(r.Stderr, "ferry.yaml: 3 problem(s)") {
		t.Errorf("stderr: %q", r.Stderr)
	}

	// Loaded fine, but the command is missing and the port has no health path.
	writeFile(t, filepath.Join(dir, "ferry.yaml"), "app: shop\nservices:\n  web: {command: [./shop], port: http}\n", 0o644)
	r = ferry(t, dir, home, nil, "verify", "-o", "json")
	var out struct {
		OK       bool
		Problems []struct {
			Line, Col int
			Field     string
			Msg       string
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if r.Code != 1 || out.OK || len(out.Problems) != 2 ||
		out.Problems[0].Field != "services.web.command" || !strings.HasSuffix(out.Problems[0].Msg, "shop does not exist") ||
		out.Problems[1].Field != "services.web.port" || out.Problems[1].Line != 3 {
		t.Errorf("exit %d, %+v", r.Code, out)
	}
}
