package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const overlayDef = `app: shop
services:
  web:
    command: [./shop, serve]
    port: http
    count: 3
    env: {LOG: info, REGION: tokyo}
    health: {path: /healthz, interval: 2s}
    routes: [{host: shop.example.com}, {host: shop.example.com, path: /api}]
    hooks:
      pre_stop: {command: [./flush], timeout: 20s}
  worker:
    command: [./shop, work]
    env: {QUEUE: default}
environments:
  staging:
    services:
      web: {count: 2, env: {LOG: debug}, health: {timeout: 5s}}
  production:
    services:
      web:
        count: 6
        routes: [{host: www.example.com}]
preview:
  domain: preview.example.com
  services: {web: {count: 1, env: {FEATURE_FLAGS: all}}}
`

func TestEnvironmentOverlay(t *testing.T) {
	load := func(env string) *Definition {
		t.Helper()
		d, err := Parse("ferry.yaml", []byte(overlayDef), Options{Environment: env, LookupEnv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	baseDef, staging, prod := load(""), load("staging"), load("production")
	if !reflect.DeepEqual(baseDef.Environments, []string{"staging", "production"}) {
		t.Errorf("environments = %v", baseDef.Environments)
	}
	if staging.Environment != "staging" || baseDef.Environment != "" {
		t.Errorf("Environment = %q / %q", staging.Environment, baseDef.Environment)
	}

	web := staging.Services["web"]
	if web.Count != 2 {
		t.Errorf("staging count = %d, want 2", web.Count)
	}
	if want := map[string]string{"LOG": "debug", "REGION": "tokyo"}; !reflect.DeepEqual(web.Env, want) {
		t.Errorf("staging env = %v, want %v (maps merge)", web.Env, want)
	}
	if web.Health.Path != "/healthz" || web.Health.Interval != 2*time.Second || web.Health.Timeout != 5*time.Second {
		t.Errorf("staging health = %+v (nested maps merge)", web.Health)
	}
	if len(web.Routes) != 2 || web.Hooks.PreStop == nil || web.Hooks.PreStop.Timeout != 20*time.Second {
		t.Errorf("staging must inherit routes and hooks: %+v %+v", web.Routes, web.Hooks)
	}
	if !reflect.DeepEqual(staging.Services["worker"], baseDef.Services["worker"]) {
		t.Errorf("a service the overlay does not name is inherited unchanged")
	}
	if got := baseDef.Services["web"]; got.Count != 3 || got.Env["LOG"] != "info" {
		t.Errorf("base changed by overlay: %+v", got)
	}

	pw := prod.Services["web"]
	if pw.Count != 6 || !reflect.DeepEqual(pw.Routes, []Route{{Host: "www.example.com", Path: "/"}}) {
		t.Errorf("production: count %d routes %v (lists replace)", pw.Count, pw.Routes)
	}
}

func TestPreviewOverlay(t *testing.T) {
	d, err := Parse("ferry.yaml", []byte(overlayDef), Options{Environment: "production", LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.PreviewFor(PreviewTarget{Branch: "Feature/Login_Page", PR: 42})
	if err != nil {
		t.Fatal(err)
	}
	if p.Environment != "pr-42" {
		t.Errorf("Environment = %q", p.Environment)
	}
	if _, ok := p.Services["worker"]; ok || len(p.Services) != 1 {
		t.Errorf("preview.services lists web only; got %v", p.ServiceNames())
	}
	web := p.Services["web"]
	want := map[string]string{"LOG": "info", "REGION": "tokyo", "FEATURE_FLAGS": "all",
		"FERRY_PREVIEW": "1", "FERRY_PR": "42", "FERRY_BRANCH": "Feature/Login_Page"}
	if !reflect.DeepEqual(web.Env, want) {
		t.Errorf("preview env = %v, want %v (from the base, not production)", web.Env, want)
	}
	if web.Count != 1 {
		t.Errorf("preview count = %d", web.Count)
	}
	wantRoutes := []Route{{Host: "feature-login-page.preview.example.com", Path: "/"}, {Host: "feature-login-page.preview.example.com", Path: "/api"}}
	if !reflect.DeepEqual(web.Routes, wantRoutes) {
		t.Errorf("preview routes = %v, want %v", web.Routes, wantRoutes)
	}
	if d.Services["web"].Env["FERRY_PREVIEW"] != "" {
		t.Error("ForPreview changed its receiver")
	}
	if _, err := d.PreviewFor(PreviewTarget{Branch: "///", PR: 1}); err == nil {
		t.Error("a branch without letters must be refused")
	}
}

func TestPreviewAllServicesAndSecondaryHosts(t *testing.T) {
	text := `app: shop
services:
  web: {command: [./web], port: http, routes: [{host: shop.example.com}]}
  api: {command: [./api], port: http, routes: [{host: api.example.com}]}
`
	d, err := Parse("ferry.yaml", []byte(text), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.PreviewFor(PreviewTarget{Branch: "fix-1", PR: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Services["web"].Routes[0].Host; got != "fix-1.localhost" {
		t.Errorf("web preview host = %q", got)
	}
	if got := p.Services["api"].Routes[0].Host; got != "api-fix-1.localhost" {
		t.Errorf("api preview host = %q", got)
	}
}

func TestBranchSlug(t *testing.T) {
	long := "Feature/ÜBER_long-" + strings.Repeat("x", 82) // 100 bytes, Ü is two
	cases := map[string]string{
		"main":               "main",
		"Feature/Login_Page": "feature-login-page",
		"--x--":              "x",
		"a//b__c":            "a-b-c",
		"日本語":                "",
		"very-long-" + strings.Repeat("x", 60) + "-end": "very-long-" + strings.Repeat("x", 46) + "-" + SuffixedLabel("", "very-long-"+strings.Repeat("x", 60)+"-end")[1:],
		long: "feature-ber-long-" + strings.Repeat("x", 39) + "-" + SuffixedLabel("", long)[1:],
	}
	for in, want := range cases {
		if got := BranchSlug(in); got != want || (got != "" && !IsDNSLabel(got)) {
			t.Errorf("BranchSlug(%q) = %q, want %q", in, got, want)
		}
	}
	// Two long branches alike in their first 63 characters keep distinct labels.
	a, b := BranchSlug(long+"-one"), BranchSlug(long+"-two")
	if a == b || len(a) > 63 || len(b) > 63 {
		t.Errorf("long branches: %q and %q", a, b)
	}
}

func TestSuffixedLabel(t *testing.T) {
	for _, tc := range []struct{ label, key string }{
		{"feature-x", "acme/shop#1"},
		{strings.Repeat("a", 63), "k"},
		{"", "k"},
		{strings.Repeat("a", 55) + "-----", "k"},
	} {
		got := SuffixedLabel(tc.label, tc.key)
		if !IsDNSLabel(got) {
			t.Errorf("SuffixedLabel(%q, %q) = %q: not a DNS label", tc.label, tc.key, got)
		}
		if got == SuffixedLabel(tc.label, tc.key+"'") {
			t.Errorf("SuffixedLabel(%q): the same for different keys", tc.label)
		}
	}
}
