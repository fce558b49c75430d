package config

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

// Starter returns a commented starter ferry.yaml for the repository in dir:
// go build steps for its main package when dir holds a go.mod, a
// placeholder command otherwise. It only reads dir.
func Starter(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := starter{App: BranchSlug(filepath.Base(abs))}
	if mod, err := os.ReadFile(filepath.Join(abs, "go.mod")); err == nil {
		s.Go = true
		if m := modulePath(mod); m != "" {
			if a := BranchSlug(path.Base(m)); a != "" {
				s.App = a
			}
		}
		s.Main = mainPackage(abs)
		s.Binary = s.App
		if s.Main != "." {
			s.Binary = path.Base(s.Main)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	if s.App == "" {
		s.App = "app"
	}
	var b bytes.Buffer
	if err := starterTmpl.Execute(&b, s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type starter struct {
	App, Main, Binary string
	Go                bool
}

func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// mainPackage finds the package to build: the root when it is package main,
// else the first ./cmd/<name> holding package main.
func mainPackage(dir string) string {
	if isMainDir(dir) {
		return "."
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "cmd"))
	var names []string
	for _, e := range entries {
		if e.IsDir() && isMainDir(filepath.Join(dir, "cmd", e.Name())) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return "./cmd/" + names[0]
	}
	return "."
}

func isMainDir(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "package ") {
				if strings.TrimSpace(strings.TrimPrefix(line, "package ")) == "main" {
					return true
				}
				break
			}
		}
	}
	return false
}

var starterTmpl = template.Must(template.New("ferry.yaml").Parse(`# ferry.yaml — how ferry builds, runs and deploys this app.
# Check it with "ferry verify", see the effective values with "ferry render".
app: {{.App}}                 # a DNS label: names hosts and environments

build:
  steps:                    # run in order with sh -c; each cached by a hash of its inputs
{{- if .Go}}
    - name: deps
      inputs: [go.mod, go.sum]
      run: go mod download
    - name: app
      inputs: ["**/*.go", go.mod, go.sum]
      run: CGO_ENABLED=0 go build -o out/{{.Binary}} {{.Main}}
  output: out/              # this directory becomes the release
{{- else}}
    - name: app
      run: mkdir -p out && cp -R . out/   # replace with your build
  output: out/              # this directory becomes the release
{{- end}}

services:
  web:
{{- if .Go}}
    command: [./{{.Binary}}]     # run in the release directory
{{- else}}
    command: [./start]      # replace with the program that serves your app
{{- end}}
    port: http              # ferry picks a port and passes it as $PORT
    count: 2
    health: {path: /healthz}  # checked every 1s; 2 successes put a task in rotation
    routes: [{host: {{.App}}.localhost}]
    env:
      LOG_LEVEL: info
      # DATABASE_URL: '{{"{{"}} secret "DATABASE_URL" {{"}}"}}'   # from $FERRY_HOME/secrets or the environment
    deploy:
      strategy: rolling     # rolling | blue_green | canary | immutable
      max_surge: 25%
      max_unavailable: 0

environments:               # overlays: maps merge, lists replace
  staging: {services: {web: {count: 1}}}
  production: {services: {web: {count: 3}}}

preview:                    # one environment per pull request
  domain: localhost         # http://<branch>.localhost
  ttl: 72h
  services: {web: {count: 1}}
`))
