package config

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// RenderYAML prints the effective definition: templates expanded, overlay
// and defaults applied, keys in schema order, secrets masked. The output is
// itself a valid ferry.yaml.
func (d *Definition) RenderYAML() ([]byte, error) {
	return yaml.MarshalWithOptions(d.rendered(), yaml.Indent(2), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
}

// RenderJSON is RenderYAML as JSON, in the same key order.
func (d *Definition) RenderJSON() ([]byte, error) {
	var b bytes.Buffer
	writeJSON(&b, d.rendered(), "")
	b.WriteByte('\n')
	return b.Bytes(), nil
}

type m = yaml.MapSlice

func kv(k string, v any) yaml.MapItem { return yaml.MapItem{Key: k, Value: v} }

// FormatDuration formats d as time.Duration does, without zero units ("5m", not "5m0s").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (d *Definition) rendered() m {
	out := m{kv("app", d.App), kv("runtime", d.Runtime)}
	if len(d.Build.Steps) > 0 || d.Build.Output != "" {
		var steps []any
		for _, s := range d.Build.Steps {
			st := m{kv("name", s.Name), kv("run", d.Mask(s.Run))}
			if len(s.Env) > 0 {
				st = append(st, kv("env", d.strMap(s.Env)))
			}
			if len(s.Inputs) > 0 {
				st = append(st, kv("inputs", s.Inputs))
			}
			steps = append(steps, st)
		}
		b := m{}
		if len(steps) > 0 {
			b = append(b, kv("steps", steps))
		}
		out = append(out, kv("build", append(b, kv("output", d.Build.Output))))
	}
	svcs := m{}
	for _, name := range d.ServiceNames() {
		svcs = append(svcs, kv(name, d.renderService(d.Services[name])))
	}
	out = append(out, kv("services", svcs))
	if len(d.Notifications) > 0 {
		var ns []any
		for _, n := range d.Notifications {
			nm := m{kv("url", d.Mask(n.URL))}
			if n.Secret != "" {
				nm = append(nm, kv("secret", d.Mask(n.Secret)))
			}
			ns = append(ns, append(nm, kv("events", n.Events)))
		}
		out = append(out, kv("notifications", ns))
	}
	p := d.Preview
	if p == nil {
		return out
	}
	pm := m{kv("domain", p.Domain), kv("ttl", FormatDuration(p.TTL)), kv("max", p.Max)}
	if p.Label != "" {
		pm = append(pm, kv("label", p.Label))
	}
	if over := d.base.get("preview").get("services"); over != nil && over.kind == kMap {
		pm = append(pm, kv("services", d.plain(over)))
	}
	if h := d.renderHooks([]string{"on_create", "on_destroy"}, p.Hooks.OnCreate, p.Hooks.OnDestroy); h != nil {
		pm = append(pm, kv("hooks", h))
	}
	return append(out, kv("preview", pm))
}

func (d *Definition) renderService(s *Service) m {
	out := m{kv("command", d.maskAll(s.Command))}
	if len(s.Env) > 0 {
		out = append(out, kv("env", d.strMap(s.Env)))
	}
	if s.Port != "" {
		out = append(out, kv("port", s.Port))
	}
	out = append(out, kv("count", s.Count), kv("runtime", s.Runtime))
	h := m{}
	if s.Health.Path != "" {
		h = append(h, kv("path", s.Health.Path))
	}
	h = append(h, kv("interval", FormatDuration(s.Health.Interval)), kv("timeout", FormatDuration(s.Health.Timeout)),
		kv("healthy_threshold", s.Health.HealthyThreshold), kv("unhealthy_threshold", s.Health.UnhealthyThreshold),
		kv("status", s.Health.Status.String()))
	if s.Health.StartPeriod > 0 {
		h = append(h, kv("start_period", FormatDuration(s.Health.StartPeriod)))
	}
	out = append(out, kv("health", h))
	if len(s.Routes) > 0 {
		var rs []any
		for _, r := range s.Routes {
			rs = append(rs, m{kv("host", r.Host), kv("path", r.Path)})
		}
		out = append(out, kv("routes", rs))
	}
	out = append(out, kv("drain_timeout", FormatDuration(s.DrainTimeout)), kv("stop_timeout", FormatDuration(s.StopTimeout)), kv("stop_signal", s.StopSignal))
	l := m{}
	if s.Limits.Memory > 0 {
		l = append(l, kv("memory", formatMemory(s.Limits.Memory)))
	}
	if s.Limits.NoFile > 0 {
		l = append(l, kv("nofile", s.Limits.NoFile))
	}
	if s.Limits.Procs > 0 {
		l = append(l, kv("procs", s.Limits.Procs))
	}
	if s.Limits.CPU > 0 {
		l = append(l, kv("cpu", s.Limits.CPU))
	}
	if len(l) > 0 {
		out = append(out, kv("limits", l))
	}
	if s.Image != nil {
		im := m{}
		if s.Image.Ref != "" {
			im = append(im, kv("ref", s.Image.Ref))
		} else {
			im = append(im, kv("dockerfile", s.Image.Dockerfile), kv("context", s.Image.Context))
		}
		out = append(out, kv("image", im))
	}
	out = append(out, kv("deploy", renderDeploy(s.Deploy)))
	if h := d.renderHooks([]string{"launch", "before_traffic", "after_traffic", "pre_stop"},
		s.Hooks.Launch, s.Hooks.BeforeTraffic, s.Hooks.AfterTraffic, s.Hooks.PreStop); h != nil {
		out = append(out, kv("hooks", h))
	}
	return out
}

func renderDeploy(dp Deploy) m {
	out := m{kv("strategy", dp.Strategy), kv("max_surge", cop(dp.MaxSurge)), kv("max_unavailable", cop(dp.MaxUnavailable)),
		kv("min_healthy_time", FormatDuration(dp.MinHealthyTime)), kv("progress_deadline", FormatDuration(dp.ProgressDeadline)),
		kv("circuit_breaker", dp.CircuitBreaker)}
	switch dp.Strategy {
	case StrategyCanary:
		steps := []any{}
		for _, st := range dp.Steps {
			sm := m{kv("weight", st.Weight)}
			if st.WaitForPromote {
				sm = append(sm, kv("pause", true))
			} else if st.Pause > 0 {
				sm = append(sm, kv("pause", FormatDuration(st.Pause)))
			}
			steps = append(steps, sm)
		}
		out = append(out, kv("steps", steps), kv("canary_capacity", dp.CanaryCapacity), kv("sticky", dp.Sticky))
	case StrategyBlueGreen:
		out = append(out, kv("auto_promote", dp.AutoPromote), kv("ready_timeout", FormatDuration(dp.ReadyTimeout)),
			kv("on_ready_timeout", dp.OnReadyTimeout), kv("terminate_old_after", FormatDuration(dp.TerminateOldAfter)))
	}
	if tr := dp.TestRoute; tr != nil {
		t := m{}
		for _, f := range []struct{ k, v string }{{"header", tr.Header}, {"cookie", tr.Cookie}, {"host", tr.Host}} {
			if f.v != "" {
				t = append(t, kv(f.k, f.v))
			}
		}
		out = append(out, kv("test_route", t))
	}
	if a := dp.Analysis; a != nil {
		am := m{}
		if a.MaxErrorRate > 0 {
			am = append(am, kv("max_error_rate", formatPercent(a.MaxErrorRate)))
		}
		if a.MaxP99 > 0 {
			am = append(am, kv("max_p99", FormatDuration(a.MaxP99)))
		}
		am = append(am, kv("min_requests", a.MinRequests), kv("interval", FormatDuration(a.Interval)),
			kv("failure_limit", a.FailureLimit), kv("inconclusive_limit", a.InconclusiveLimit))
		if len(a.Webhooks) > 0 {
			var ws []any
			for _, w := range a.Webhooks {
				ws = append(ws, m{kv("url", w.URL), kv("timeout", FormatDuration(w.Timeout))})
			}
			am = append(am, kv("webhooks", ws))
		}
		out = append(out, kv("analysis", am))
	}
	return out
}

// cop renders a count-or-percent as YAML would read it back.
func cop(c CountOrPercent) any {
	if c.IsPercent {
		return c.String()
	}
	return c.N
}

func (d *Definition) renderHooks(names []string, hooks ...*Hook) m {
	out := m{}
	for i, h := range hooks {
		if h != nil {
			out = append(out, kv(names[i], m{kv("command", d.maskAll(h.Command)), kv("timeout", FormatDuration(h.Timeout)), kv("on_failure", h.OnFailure)}))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (d *Definition) strMap(env map[string]string) m {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(m, 0, len(keys))
	for _, k := range keys {
		out = append(out, kv(k, d.Mask(env[k])))
	}
	return out
}

func (d *Definition) maskAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = d.Mask(s)
	}
	return out
}

// plain renders a tree as written (an overlay), secrets masked.
func (d *Definition) plain(n *node) any {
	switch n.kind {
	case kMap:
		out := m{}
		for _, e := range n.entries {
			out = append(out, kv(e.key.str, d.plain(e.val)))
		}
		return out
	case kSeq:
		out := []any{}
		for _, it := range n.items {
			out = append(out, d.plain(it))
		}
		return out
	case kNull:
		return nil
	case kInt:
		if v, err := strconv.Atoi(n.str); err == nil {
			return v
		}
	case kBool:
		return n.str == "true"
	}
	return d.Mask(n.str)
}

// writeJSON encodes v (MapSlice, lists, scalars) keeping MapSlice order.
func writeJSON(b *bytes.Buffer, v any, indent string) {
	inner := indent + "  "
	switch x := v.(type) {
	case m:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, it := range x {
			k, _ := json.Marshal(it.Key)
			b.WriteString(inner)
			b.Write(k)
			b.WriteString(": ")
			writeJSON(b, it.Value, inner)
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		writeList(b, len(x), func(i int) any { return x[i] }, indent)
	case []string:
		writeList(b, len(x), func(i int) any { return x[i] }, indent)
	default:
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

func writeList(b *bytes.Buffer, n int, at func(int) any, indent string) {
	if n == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteString("[\n")
	for i := 0; i < n; i++ {
		b.WriteString(indent + "  ")
		writeJSON(b, at(i), indent+"  ")
		if i < n-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "]")
}
