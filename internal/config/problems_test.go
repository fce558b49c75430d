package config

import (
	"errors"
	"strings"
	"testing"
)

// base is a valid definition that the cases below break one way each.
const base = `app: shop
services:
  web:
    command: [./shop, serve]
    port: http
    health: {path: /healthz}
    routes: [{host: shop.example.com}]
`

func noEnv(string) (string, bool) { return "", false }

// parseProblems parses text and returns its problems (failing if none).
func parseProblems(t *testing.T, text string, opts Options) []Problem {
	t.Helper()
	if opts.LookupEnv == nil {
		opts.LookupEnv = noEnv
	}
	_, err := Parse("ferry.yaml", []byte(text), opts)
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	return errs.Problems
}

func TestProblemClasses(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		line, col int
		field     string
		msg       string
	}{
		{"unknown field with suggestion", base + "    helth: {path: /x}\n", 8, 5, "services.web.helth", `unknown field; did you mean "health"?`},
		{"unknown top-level field", "ap: shop\n" + base[len("app: shop\n"):], 1, 1, "ap", `unknown field; did you mean "app"?`},
		{"unknown field far from any", base + "    zzzzzzzz: 1\n", 8, 5, "services.web.zzzzzzzz", "unknown field"},
		{"wrong type: string for int", base + "    count: three\n", 8, 12, "services.web.count", `expected an integer, got a string "three"`},
		{"wrong type: mapping for list", strings.Replace(base, "[./shop, serve]", "{a: b}", 1), 4, 15, "services.web.command", "expected a list of strings, got a mapping"},
		{"wrong type: scalar for mapping", base + "    health2: x\n", 8, 5, "services.web.health2", `did you mean "health"?`},
		{"wrong type: list of strings", strings.Replace(base, "[./shop, serve]", "./shop serve", 1), 4, 14, "services.web.command", "expected a list of strings, got a string"},
		{"invalid duration", base + "    drain_timeout: 30 seconds\n", 8, 20, "services.web.drain_timeout", `invalid duration "30 seconds"`},
		{"invalid duration in health", strings.Replace(base, "{path: /healthz}", "{path: /healthz, interval: 1x}", 1), 6, 40, "services.web.health.interval", `invalid duration "1x"`},
		{"negative start period", strings.Replace(base, "{path: /healthz}", "{path: /healthz, start_period: -5s}", 1), 6, 44, "services.web.health.start_period", `invalid duration "-5s": must not be negative`},
		{"invalid percentage", base + "    deploy: {analysis: {max_error_rate: one}}\n", 8, 41, "services.web.deploy.analysis.max_error_rate", `invalid percentage "one"`},
		{"percentage out of range", base + "    deploy: {max_surge: 150%}\n", 8, 25, "services.web.deploy.max_surge", "out of range"},
		{"missing required field", "app: shop\nservices:\n  web:\n    count: 2\n", 4, 5, "services.web.command", "missing required field"},
		{"missing app", "services:\n  web: {command: [x]}\n", 1, 1, "app", "missing required field"},
		{"missing build output", "app: shop\nbuild:\n  steps: [{name: a, run: make}]\nservices:\n  w: {command: [x]}\n", 3, 3, "build.output", "missing required field"},
		{"route claimed twice in one service", strings.Replace(base, "[{host: shop.example.com}]", "[{host: shop.example.com}, {host: shop.example.com, path: /}]", 1), 7, 41, "services.web.routes[1]", "route shop.example.com/ is claimed twice: already by services.web.routes[0] (line 7)"},
		{"route claimed twice across services", base + "  api:\n    command: [./api]\n    port: http\n    routes:\n      - host: shop.example.com\n", 12, 9, "services.api.routes[0]", "claimed twice: already by services.web.routes[0]"},
		{"environment names unknown service", base + "environments:\n  staging: {services: {wbe: {count: 2}}}\n", 9, 24, "environments.staging.services.wbe", `no service "wbe" in services; did you mean "web"?`},
		{"preview names unknown service", base + "preview:\n  services:\n    api: {count: 1}\n", 10, 5, "preview.services.api", `no service "api" in services`},
		{"invalid strategy", base + "    deploy: {strategy: canry}\n", 8, 24, "services.web.deploy.strategy", `invalid value "canry": must be one of rolling, blue_green, canary, immutable; did you mean "canary"?`},
		{"invalid runtime", "app: shop\nruntime: podman\nservices:\n  w: {command: [x]}\n", 2, 10, "runtime", `invalid value "podman"`},
		{"invalid on_failure", base + "    hooks: {launch: {command: [x], on_failure: ignore}}\n", 8, 48, "services.web.hooks.launch.on_failure", `invalid value "ignore": must be one of rollback, continue`},
		{"weight over 100", base + "    deploy: {strategy: canary, steps: [{weight: 110}]}\n", 8, 49, "services.web.deploy.steps[0].weight", "110 out of range: must be between 0 and 100"},
		{"count below 0", base + "    count: -1\n", 8, 12, "services.web.count", "-1 out of range: must be at least 0"},
		{"routes without port", strings.Replace(base, "    port: http\n    health: {path: /healthz}\n", "", 1), 5, 13, "services.web.routes", "routes need port: http"},
		{"health path without port", strings.Replace(strings.Replace(base, "    port: http\n", "", 1), "    routes: [{host: shop.example.com}]\n", "", 1), 5, 20, "services.web.health.path", "a health path needs port: http"},
		{"preset and steps together", base + "    deploy: {strategy: canary, preset: canary10_5m, steps: [{weight: 10}]}\n", 8, 40, "services.web.deploy.preset", "preset and steps exclude each other"},
		{"canary field under rolling", base + "    deploy: {steps: [{weight: 10}]}\n", 8, 21, "services.web.deploy.steps", "only for strategy canary"},
		{"app not a DNS label", strings.Replace(base, "app: shop", "app: My_Shop", 1), 1, 6, "app", `"My_Shop" is not a DNS label`},
		{"duplicate build step", "app: shop\nbuild:\n  output: out\n  steps:\n    - {name: a, run: x}\n    - {name: a, run: y}\n" + base[len("app: shop\n"):], 6, 14, "build.steps[1].name", `duplicate build step name "a" (first at line 5)`},
		{"duplicate key", base + "    count: 1\n    count: 2\n", 9, 5, "services.web.count", `count is set twice: already at line 8, column 5; keep one`},
		{"duplicate key in a flow mapping", base + "    env: {A: x, A: y}\n", 8, 17, "services.web.env.A", `A is set twice: already at line 8, column 11`},
		{"duplicate key beside a merge key", base + "    env: &e {A: x}\n  api:\n    command: [./api]\n    env: {<<: *e, B: y, B: z}\n", 11, 25, "services.api.env.B", `B is set twice`},
		{"invalid memory", base + "    limits: {memory: lots}\n", 8, 22, "services.web.limits.memory", `invalid memory size "lots"`},
		{"invalid host", strings.Replace(base, "shop.example.com", "Shop!", 1), 7, 21, "services.web.routes[0].host", `invalid host "Shop!"`},
		{"YAML syntax error", "app: shop\nservices: [\n", 2, 11, "", "invalid YAML"},
		{"not a mapping", "- a\n- b\n", 1, 1, "", "expected a mapping"},
		{"template error", base + "    env: {A: '{{ nope }}'}\n", 8, 14, "services.web.env.A", `function "nope" not defined`},
		{"must_env unset", base + "    env: {A: '{{ must_env \"NOPE\" }}'}\n", 8, 14, "services.web.env.A", "must_env NOPE: environment variable NOPE is not set"},
		{"overlay wrong type positioned in overlay", base + "environments:\n  staging:\n    services:\n      web: {count: many}\n", 11, 20, "environments.staging.services.web.count", `expected an integer, got a string "many"`},
		{"overlay unknown field positioned in overlay", base + "environments:\n  prod: {services: {web: {cuont: 2}}}\n", 9, 27, "environments.prod.services.web.cuont", `did you mean "count"?`},
		{"unknown environment field", base + "environments:\n  prod: {servics: {}}\n", 9, 10, "environments.prod.servics", `did you mean "services"?`},
		{"notification event enum", base + "notifications: [{url: 'https://x', events: [done]}]\n", 8, 45, "notifications[0].events[0]", `invalid value "done"`},
		{"unknown alias", base + "    env: *nope\n", 8, 10, "services.web.env", "alias"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := parseProblems(t, c.yaml, Options{})
			for _, p := range ps {
				if p.Line == c.line && p.Col == c.col && p.Field == c.field && strings.Contains(p.Msg, c.msg) {
					if p.File != "ferry.yaml" {
						t.Errorf("file = %q", p.File)
					}
					return
				}
			}
			t.Errorf("want ferry.yaml:%d:%d: %s: ...%s...; got:\n%s", c.line, c.col, c.field, c.msg, (&Errors{ps}).Error())
		})
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	text := `app: Shop
services:
  web:
    command: [./shop]
    count: x
    helth: {}
    deploy: {strategy: fast, max_surge: 10 percent}
`
	ps := parseProblems(t, text, Options{})
	want := []string{
		`ferry.yaml:1:6: app: "Shop" is not a DNS label: use lower-case letters, digits and -, at most 63 characters`,
		`ferry.yaml:5:12: services.web.count: expected an integer, got a string "x"`,
		`ferry.yaml:6:5: services.web.helth: unknown field; did you mean "health"?`,
		`ferry.yaml:7:24: services.web.deploy.strategy: invalid value "fast": must be one of rolling, blue_green, canary, immutable`,
		`ferry.yaml:7:41: services.web.deploy.max_surge: invalid percentage "10 percent": write a number followed by %, e.g. 1% or 0.5%`,
	}
	got := (&Errors{ps}).Error()
	if got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestDuplicateKeysReportedWithEveryOtherProblem(t *testing.T) {
	text := `app: shop
services:
  web:
    command: [./web]
    count: 2
    count: 3
  web:
    command: [./x]
  api:
    comand: [./api]
`
	want := []string{
		`ferry.yaml:6:5: services.web.count: count is set twice: already at line 5, column 5; keep one`,
		`ferry.yaml:7:3: services.web: web is set twice: already at line 3, column 3; keep one`,
		`ferry.yaml:10:5: services.api.comand: unknown field; did you mean "command"?`,
		`ferry.yaml:10:5: services.api.command: missing required field`,
	}
	if got := (&Errors{parseProblems(t, text, Options{})}).Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// A key given beside a merge key overrides the merged one: not a duplicate.
	ok := base + "    env: &e {A: x, B: y}\n  api:\n    command: [./api]\n    env: {<<: *e, A: z}\n"
	def, err := Parse("ferry.yaml", []byte(ok), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("an explicit key beside a merge key: %v", err)
	}
	if env := def.Services["api"].Env; env["A"] != "z" || env["B"] != "y" {
		t.Errorf("api env = %v, want A=z (explicit) and B=y (merged)", env)
	}
}

func TestUnknownEnvironmentListsKnown(t *testing.T) {
	_, err := Parse("ferry.yaml", []byte(base+"environments:\n  staging: {}\n  production: {}\n"), Options{Environment: "stagin", LookupEnv: noEnv})
	want := `ferry.yaml: environments: no environment "stagin" (known: staging, production); did you mean "staging"?`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestSuggest(t *testing.T) {
	cases := []struct {
		got  string
		want string
	}{
		{"helth", `; did you mean "health"?`},
		{"comand", `; did you mean "command"?`},
		{"xyz", ""},
		{"", ""},
	}
	for _, c := range cases {
		if s := suggest(c.got, serviceFields); s != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.got, s, c.want)
		}
	}
}
