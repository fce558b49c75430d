package config

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envOf returns a LookupEnv over a fixed map.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// valueOf parses base with env var A set to the template tmpl and returns
// the expanded value.
func valueOf(t *testing.T, dir, tmpl string, opts Options) (string, error) {
	t.Helper()
	text := base + "    env:\n      A: '" + tmpl + "'\n"
	d, err := Parse(filepath.Join(dir, "ferry.yaml"), []byte(text), opts)
	if err != nil {
		return "", err
	}
	return d.Services["web"].Env["A"], nil
}

func TestTemplateFunctions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "motd.txt"), []byte("line one\nline two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile("testdata/tfstate.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/state/terraform.tfstate" {
			http.NotFound(w, r)
			return
		}
		w.Write(state)
	}))
	defer srv.Close()
	fixture, _ := filepath.Abs("testdata/tfstate.json")
	const arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/shop/abc"

	cases := []struct {
		name string
		tmpl string
		opts Options
		want string
		err  string
	}{
		{"env set", `{{ env "REGION" "x" }}`, Options{LookupEnv: envOf(map[string]string{"REGION": "tokyo"})}, "tokyo", ""},
		{"env default", `{{ env "REGION" "osaka" }}`, Options{}, "osaka", ""},
		{"env unset no default", `[{{ env "REGION" }}]`, Options{}, "[]", ""},
		{"env set to empty wins over default", `[{{ env "REGION" "d" }}]`, Options{LookupEnv: envOf(map[string]string{"REGION": ""})}, "[]", ""},
		{"must_env set", `{{ must_env "REGION" }}`, Options{LookupEnv: envOf(map[string]string{"REGION": "tokyo"})}, "tokyo", ""},
		{"must_env unset", `{{ must_env "REGION" }}`, Options{}, "", `ferry.yaml:9:10: services.web.env.A: template {{ must_env "REGION" }}: must_env REGION: environment variable REGION is not set`},
		{"file relative to definition", `{{ file "motd.txt" }}`, Options{}, "line one\nline two\n", ""},
		{"file missing", `{{ file "nope.txt" }}`, Options{}, "", "nope.txt: no such file or directory"},
		{"tfstate from local file", `{{ tfstate "aws_lb.main.arn" }}`, Options{TFState: fixture}, arn, ""},
		{"tfstate output", `{{ tfstate "output.domain" }}`, Options{TFState: fixture}, "shop.example.com", ""},
		{"tfstate from env location", `{{ tfstate "aws_lb.main.name" }}`, Options{LookupEnv: envOf(map[string]string{"FERRY_TFSTATE": fixture})}, "shop", ""},
		{"tfstate from http URL", `{{ tfstate "aws_lb.main.arn" }}`, Options{TFState: srv.URL + "/state/terraform.tfstate"}, arn, ""},
		{"tfstate http 404", `{{ tfstate "aws_lb.main.arn" }}`, Options{TFState: srv.URL + "/missing"}, "", "tfstate:"},
		{"tfstate unknown address", `{{ tfstate "aws_lb.other.arn" }}`, Options{TFState: fixture}, "", "tfstate aws_lb.other.arn: not found in the state"},
		{"tfstate without location", `{{ tfstate "aws_lb.main.arn" }}`, Options{}, "", "no state location; pass --tfstate or set FERRY_TFSTATE"},
		{"json_escape", `{{ json_escape "say \"hi\"\n" }}`, Options{}, `say \"hi\"\n`, ""},
		{"json_escape pipeline", `{{ file "motd.txt" | json_escape }}`, Options{}, `line one\nline two\n`, ""},
		{"secret from env", `{{ secret "TOKEN" }}`, Options{LookupEnv: envOf(map[string]string{"TOKEN": "tok-1"})}, "tok-1", ""},
		{"secret missing", `{{ secret "TOKEN" }}`, Options{}, "", "secret TOKEN: not found in the environment"},
		{"secret bad name", `{{ secret "../etc/passwd" }}`, Options{}, "", `secret "../etc/passwd": a secret name is letters`},
		{"parse error names line", `{{ env "A" `, Options{}, "", "ferry.yaml:9:10: services.web.env.A: template:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.LookupEnv == nil {
				c.opts.LookupEnv = noEnv
			}
			got, err := valueOf(t, dir, c.tmpl, c.opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestTemplateLineInMultiLineValue(t *testing.T) {
	text := base + "    env:\n      A: |\n        first\n        {{ must_env \"NOPE\" }}\n"
	ps := parseProblems(t, text, Options{})
	// The literal block starts on line 9; its template line 2 is file line 10.
	if len(ps) != 1 || ps[0].Line != 10 || ps[0].Field != "services.web.env.A" {
		t.Errorf("got %v", ps)
	}
}

func TestTemplatedTypedValues(t *testing.T) {
	text := base + "    count: '{{ env \"COUNT\" \"2\" }}'\n    deploy: {max_surge: '{{ env \"SURGE\" }}', circuit_breaker: '{{ env \"CB\" }}'}\n"
	d, err := Parse("ferry.yaml", []byte(text), Options{LookupEnv: envOf(map[string]string{"COUNT": "4", "SURGE": "50%", "CB": "false"})})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Services["web"]
	if s.Count != 4 || s.Deploy.MaxSurge != (CountOrPercent{Percent: 50, IsPercent: true}) || s.Deploy.CircuitBreaker {
		t.Errorf("count %d, surge %+v, circuit breaker %v", s.Count, s.Deploy.MaxSurge, s.Deploy.CircuitBreaker)
	}
	// A quoted value that did not come from a template stays a string.
	ps := parseProblems(t, base+"    count: '4'\n", Options{})
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, `expected an integer, got a string "4"`) {
		t.Errorf("got %v", ps)
	}
}
