package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/fujiwara/tfstate-lookup/tfstate"
)

// Templates are expanded per scalar value, after YAML parsing: a value's
// expansion can contain newlines or YAML syntax without moving any position
// in the file, and an error in a template is reported at the value holding
// it (plus the template's own line for multi-line values).

// templater expands template values of one definition file.
type templater struct {
	dir       string // the definition's directory, for file
	opts      Options
	secrets   *masker
	state     *tfstate.TFState
	stateErr  error
	stateRead bool
}

func (t *templater) funcs() template.FuncMap {
	return template.FuncMap{
		"env": func(name string, def ...string) (string, error) {
			if len(def) > 1 {
				return "", fmt.Errorf("env %s: takes a name and at most one default", name)
			}
			if v, ok := t.opts.lookupEnv(name); ok {
				return v, nil
			}
			if len(def) == 1 {
				return def[0], nil
			}
			return "", nil
		},
		"must_env": func(name string) (string, error) {
			if v, ok := t.opts.lookupEnv(name); ok {
				return v, nil
			}
			return "", fmt.Errorf("must_env %s: environment variable %s is not set", name, name)
		},
		"file": func(path string) (string, error) {
			if !filepath.IsAbs(path) {
				path = filepath.Join(t.dir, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("file: %w", err)
			}
			return string(data), nil
		},
		"tfstate": t.tfstate,
		"json_escape": func(s string) string {
			b, _ := json.Marshal(s)
			return string(b[1 : len(b)-1])
		},
		"secret": func(name string) (string, error) {
			v, err := readSecret(t.opts.Home, name, t.opts.lookupEnv)
			if err != nil {
				return "", err
			}
			t.secrets.add(v)
			return v, nil
		},
	}
}

// tfstate looks addr up in the Terraform state named by --tfstate or
// $FERRY_TFSTATE, read once per definition.
func (t *templater) tfstate(addr string) (string, error) {
	if !t.stateRead {
		t.stateRead = true
		loc := t.opts.TFState
		if loc == "" {
			loc, _ = t.opts.lookupEnv("FERRY_TFSTATE")
		}
		if loc == "" {
			t.stateErr = errors.New("tfstate: no state location; pass --tfstate or set FERRY_TFSTATE")
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if strings.Contains(loc, "://") {
				t.state, t.stateErr = tfstate.ReadURL(ctx, loc)
			} else {
				t.state, t.stateErr = tfstate.ReadFile(ctx, loc)
			}
			if t.stateErr != nil {
				t.stateErr = fmt.Errorf("tfstate: %w", t.stateErr)
			}
		}
	}
	if t.stateErr != nil {
		return "", t.stateErr
	}
	obj, err := t.state.Lookup(strings.ReplaceAll(addr, "'", `"`))
	if err != nil {
		return "", fmt.Errorf("tfstate %s: %w", addr, err)
	}
	if obj == nil || obj.Value == nil {
		return "", fmt.Errorf("tfstate %s: not found in the state", addr)
	}
	return obj.String(), nil
}

// expand replaces every string value holding {{ in the tree by its
// expansion, reporting template problems at the value.
func (t *templater) expand(n *node, ps *problems) {
	if n == nil {
		return
	}
	switch n.kind {
	case kString:
		if !strings.Contains(n.str, "{{") || n.templated {
			return
		}
		out, line, msg := t.run(n.str)
		if msg != "" {
			ps.add(n.line+line-1, n.col, n.path, "%s", msg)
			n.bad = true
			return
		}
		n.str, n.templated = out, true
	case kMap:
		for _, e := range n.entries {
			t.expand(e.val, ps)
		}
	case kSeq:
		for _, it := range n.items {
			t.expand(it, ps)
		}
	}
}

var templateErr = regexp.MustCompile(`(?s)^template: v:(\d+)(?::\d+)?: (?:executing "v" at <(.*?)>: )?(?:error calling \w+: )?(.*)$`)

// run executes one template; on failure it returns the template's line and a
// message free of text/template's internal naming.
func (t *templater) run(text string) (string, int, string) {
	tmpl, err := template.New("v").Option("missingkey=error").Funcs(t.funcs()).Parse(text)
	if err == nil {
		b := &limitedBuilder{max: maxValue}
		if err = tmpl.Execute(b, nil); err == nil {
			return b.String(), 1, ""
		}
	}
	m := templateErr.FindStringSubmatch(err.Error())
	if m == nil {
		return "", 1, "template: " + err.Error()
	}
	line, _ := strconv.Atoi(m[1])
	if m[2] != "" {
		return "", line, fmt.Sprintf("template {{ %s }}: %s", m[2], m[3])
	}
	return "", line, "template: " + m[3]
}

// maxValue bounds one expanded value: a loop in a template must not be able
// to exhaust memory.
const maxValue = 1 << 20

type limitedBuilder struct {
	strings.Builder
	max int
}

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("expands to more than %d bytes", b.max)
	}
	return b.Builder.Write(p)
}
