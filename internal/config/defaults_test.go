package config

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	d, err := Parse("ferry.yaml", []byte("app: shop\nservices:\n  web: {command: [./shop], port: http}\n"), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := &Service{
		Name: "web", Command: []string{"./shop"}, Port: "http", Count: 1, Runtime: "process",
		Health:       Health{Interval: time.Second, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3, Status: StatusRange{200, 399}},
		DrainTimeout: 30 * time.Second, StopTimeout: 10 * time.Second, StopSignal: "SIGTERM",
		Deploy: Deploy{Strategy: "rolling", MaxSurge: CountOrPercent{Percent: 25, IsPercent: true}, ProgressDeadline: 10 * time.Minute,
			CircuitBreaker: true, CanaryCapacity: "scaled", AutoPromote: true, ReadyTimeout: 10 * time.Minute, OnReadyTimeout: "stop"},
	}
	if got := d.Services["web"]; !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if d.Runtime != "process" || d.Preview.Domain != "localhost" || d.Preview.TTL != 72*time.Hour || d.Preview.Max != 10 {
		t.Errorf("runtime %q preview %+v", d.Runtime, d.Preview)
	}
}

func TestDefaultsFollowChoices(t *testing.T) {
	text := `app: shop
runtime: docker
services:
  web:
    command: [./shop]
    count: 0
    deploy: {strategy: canary, preset: linear10_1m, analysis: {max_error_rate: 0.5%}}
    hooks: {pre_stop: {command: [./flush]}, launch: {command: [./warm]}}
  job:
    command: [./job]
    runtime: process
`
	d, err := Parse("ferry.yaml", []byte(text), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	web := d.Services["web"]
	if web.Count != 0 {
		t.Errorf("count: 0 is a valid choice, got %d", web.Count)
	}
	if web.Runtime != "docker" || !reflect.DeepEqual(web.Image, &Image{Dockerfile: "Dockerfile", Context: "."}) {
		t.Errorf("docker service: runtime %q image %+v", web.Runtime, web.Image)
	}
	if d.Services["job"].Image != nil {
		t.Error("a process service has no image")
	}
	if len(web.Deploy.Steps) != 9 || web.Deploy.Steps[0] != (CanaryStep{Weight: 10, Pause: time.Minute}) || web.Deploy.Steps[8].Weight != 90 {
		t.Errorf("preset steps = %+v", web.Deploy.Steps)
	}
	a := web.Deploy.Analysis
	if a.MaxErrorRate != 0.5 || a.MinRequests != 50 || a.Interval != 30*time.Second || a.FailureLimit != 2 {
		t.Errorf("analysis = %+v", a)
	}
	if web.Hooks.PreStop.OnFailure != "continue" || web.Hooks.Launch.OnFailure != "rollback" || web.Hooks.PreStop.Timeout != 30*time.Second {
		t.Errorf("hooks = %+v %+v", web.Hooks.PreStop, web.Hooks.Launch)
	}
}

func TestRenderIsStableAndReloadable(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": "pg://secret", "NOTIFY_KEY": "k", "FERRY_TFSTATE": "testdata/tfstate.json"})
	d, err := Load("testdata/full.yaml", Options{Environment: "staging", LookupEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	first, err := d.RenderYAML()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		again, _ := d.RenderYAML()
		if !bytes.Equal(first, again) {
			t.Fatal("RenderYAML is not stable")
		}
	}
	// The rendered definition loads back to the same effective values.
	re, err := Parse("rendered.yaml", first, Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("rendered output does not load: %v\n%s", err, first)
	}
	second, _ := re.RenderYAML()
	if !bytes.Equal(first, second) {
		t.Errorf("render → load → render differs:\n%s\n---\n%s", first, second)
	}
	if !strings.Contains(string(first), "start_period: 20s") {
		t.Errorf("health.start_period not rendered:\n%s", first)
	}
	if !strings.Contains(string(first), "count: 2") || !strings.Contains(string(first), "LOG: debug") {
		t.Errorf("staging overlay not rendered:\n%s", first)
	}
	js, _ := d.RenderJSON()
	if !strings.HasPrefix(string(js), "{\n  \"app\": \"shop\",\n  \"runtime\": \"process\",") {
		t.Errorf("JSON keeps schema order:\n%s", js)
	}
}

func TestValueParsers(t *testing.T) {
	mem := map[string]int64{"512Mi": 512 << 20, "1G": 1e9, "1Gi": 1 << 30, "100": 100, "1.5Ki": 1536}
	for in, want := range mem {
		if got, err := parseMemory(in); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1Mi", "1Qi", "99999999999999T"} {
		if _, err := parseMemory(bad); err == nil {
			t.Errorf("parseMemory(%q) must fail", bad)
		}
	}
	pct := map[string]float64{"1%": 1, "0.5%": 0.5, "100%": 100, "0%": 0}
	for in, want := range pct {
		if got, err := parsePercent(in); err != nil || got != want {
			t.Errorf("parsePercent(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"1", "%", "101%", "-1%", "NaN%", "1.2.3%"} {
		if _, err := parsePercent(bad); err == nil {
			t.Errorf("parsePercent(%q) must fail", bad)
		}
	}
	if r, err := parseStatusRange("200-299"); err != nil || !r.Contains(204) || r.Contains(300) {
		t.Errorf("status range: %v %v", r, err)
	}
	for _, bad := range []string{"99", "200-100", "2xx", "600"} {
		if _, err := parseStatusRange(bad); err == nil {
			t.Errorf("parseStatusRange(%q) must fail", bad)
		}
	}
	if got := FormatDuration(90 * time.Minute); got != "1h30m" {
		t.Errorf("Duration = %q", got)
	}
	if got := FormatDuration(2 * time.Hour); got != "2h" {
		t.Errorf("Duration = %q", got)
	}
}

func TestStarterLoads(t *testing.T) {
	goRepo := t.TempDir()
	os.WriteFile(goRepo+"/go.mod", []byte("module example.com/acme/My_Hello\n\ngo 1.22\n"), 0o644)
	os.MkdirAll(goRepo+"/cmd/hello", 0o755)
	os.WriteFile(goRepo+"/cmd/hello/main.go", []byte("// hello\npackage main\nfunc main() {}\n"), 0o644)
	other := t.TempDir()
	for dir, wants := range map[string][]string{
		goRepo: {"app: my-hello", "go build -o out/hello ./cmd/hello", "command: [./hello]"},
		other:  {"command: [./start]"},
	} {
		data, err := Starter(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(data), w) {
				t.Errorf("starter for %s lacks %q:\n%s", dir, w, data)
			}
		}
		if _, err := Parse("ferry.yaml", data, Options{LookupEnv: noEnv}); err != nil {
			t.Errorf("starter does not load: %v\n%s", err, data)
		}
	}
}

func TestZeroDefinitionRenders(t *testing.T) {
	var d Definition
	if _, err := d.RenderYAML(); err != nil {
		t.Fatal(err)
	}
	if d.Mask("x") != "x" || len(d.ServiceNames()) != 0 {
		t.Error("zero Definition")
	}
}
