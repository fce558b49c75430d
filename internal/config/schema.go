package config

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// The decoding of each section of the schema, defaults first so that an
// absent field keeps its effective value (DESIGN.md "Fast defaults").

var topFields = []string{"app", "runtime", "build", "services", "environments", "notifications", "preview"}

// definition decodes a whole tree (base, or base with an overlay merged).
func (d *decoder) definition(root *node) *Definition {
	def := &Definition{Runtime: RuntimeProcess, Services: map[string]*Service{}}
	f := d.fields(root, "", topFields...)
	if root != nil && root.kind == kMap {
		if d.require(root, f, "app") {
			if d.str(f["app"], &def.App) && !IsDNSLabel(def.App) {
				d.ps.at(f["app"], "%q is not a DNS label: use lower-case letters, digits and -, at most 63 characters", def.App)
			}
		}
	}
	if n := f["runtime"]; n != nil {
		d.enum(n, &def.Runtime, runtimes)
	}
	if n := f["build"]; n != nil {
		def.Build = d.build(n)
	}
	if root != nil && root.kind == kMap && d.require(root, f, "services") {
		n := f["services"]
		if n.kind != kMap {
			d.ps.at(n, "expected a mapping of service names to services, got %s", n.kind)
		}
		for _, e := range n.entries {
			if !IsDNSLabel(e.key.str) {
				d.ps.add(e.key.line, e.key.col, e.key.path, "service name %q is not a DNS label: use lower-case letters, digits and -", e.key.str)
			}
			def.Services[e.key.str] = d.service(e.key.str, e.val, def.Runtime)
		}
	}
	if n := f["notifications"]; n != nil {
		for i, it := range d.seq(n) {
			def.Notifications = append(def.Notifications, d.notification(it, fmt.Sprintf("notifications[%d]", i)))
		}
	}
	def.Preview = d.preview(f["preview"])
	if n := f["environments"]; n != nil && n.kind != kNull {
		if n.kind != kMap {
			d.ps.at(n, "expected a mapping of environment names to overlays, got %s", n.kind)
		}
		for _, e := range n.entries {
			def.Environments = append(def.Environments, e.key.str)
		}
	}
	d.crossChecks(def)
	return def
}

func (d *decoder) build(n *node) Build {
	var b Build
	f := d.fields(n, "build", "steps", "output")
	if s := f["steps"]; s != nil {
		seen := map[string]*node{}
		for i, it := range d.seq(s) {
			canon := fmt.Sprintf("build.steps[%d]", i)
			sf := d.fields(it, canon, "name", "run", "env", "inputs")
			var st Step
			if d.require(it, sf, "name") && d.str(sf["name"], &st.Name) {
				if first, dup := seen[st.Name]; dup {
					d.ps.at(sf["name"], "duplicate build step name %q (first at line %d)", st.Name, first.line)
				} else {
					seen[st.Name] = sf["name"]
				}
			}
			if d.require(it, sf, "run") {
				d.str(sf["run"], &st.Run)
			}
			if v := sf["env"]; v != nil {
				d.stringMap(v, &st.Env)
			}
			if v := sf["inputs"]; v != nil {
				d.strings(v, &st.Inputs)
			}
			b.Steps = append(b.Steps, st)
		}
	}
	if o := f["output"]; o != nil {
		d.str(o, &b.Output)
	}
	if len(b.Steps) > 0 && b.Output == "" {
		d.require(n, f, "output")
	}
	return b
}

var serviceFields = []string{"command", "env", "port", "count", "runtime", "health", "routes", "drain_timeout",
	"stop_timeout", "stop_signal", "limits", "image", "deploy", "hooks"}

var signals = []string{"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGKILL"}

func (d *decoder) service(name string, n *node, appRuntime string) *Service {
	canon := "services." + name
	s := &Service{
		Name: name, Count: 1, Runtime: appRuntime,
		Health:       Health{Interval: time.Second, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3, Status: StatusRange{200, 399}},
		DrainTimeout: 30 * time.Second, StopTimeout: 10 * time.Second, StopSignal: "SIGTERM",
		Deploy: defaultDeploy(),
	}
	f := d.fields(n, canon, serviceFields...)
	if n == nil || n.kind != kMap {
		if n != nil && n.kind == kNull {
			d.require(n, f, "command")
		}
		return s
	}
	if d.require(n, f, "command") && d.strings(f["command"], &s.Command) && len(s.Command) == 0 {
		d.ps.at(f["command"], "must name a program: an empty list runs nothing")
	}
	if v := f["env"]; v != nil {
		d.stringMap(v, &s.Env)
	}
	if v := f["port"]; v != nil && v.kind != kNull {
		d.enum(v, &s.Port, []string{PortHTTP})
	}
	if v := f["count"]; v != nil {
		d.integer(v, &s.Count, 0, math.MaxInt32)
	}
	if v := f["runtime"]; v != nil {
		d.enum(v, &s.Runtime, runtimes)
	}
	if v := f["health"]; v != nil {
		d.health(v, canon+".health", &s.Health)
	}
	if v := f["routes"]; v != nil {
		for i, it := range d.seq(v) {
			rf := d.fields(it, fmt.Sprintf("%s.routes[%d]", canon, i), "host", "path")
			r := Route{Path: "/"}
			if d.require(it, rf, "host") && d.str(rf["host"], &r.Host) && !validHost(r.Host) {
				d.ps.at(rf["host"], "invalid host %q: a lower-case DNS name, or *.suffix for a wildcard", r.Host)
			}
			if p := rf["path"]; p != nil && d.str(p, &r.Path) && (len(r.Path) == 0 || r.Path[0] != '/') {
				d.ps.at(p, "invalid path %q: must start with /", r.Path)
			}
			s.Routes = append(s.Routes, r)
		}
	}
	if v := f["drain_timeout"]; v != nil {
		d.duration(v, &s.DrainTimeout)
	}
	if v := f["stop_timeout"]; v != nil {
		d.duration(v, &s.StopTimeout)
	}
	if v := f["stop_signal"]; v != nil {
		d.enum(v, &s.StopSignal, signals)
	}
	if v := f["limits"]; v != nil {
		lf := d.fields(v, canon+".limits", "memory", "nofile", "procs", "cpu")
		if m := lf["memory"]; m != nil {
			var str string
			if m.kind == kInt {
				str = m.str
			} else {
				d.str(m, &str)
			}
			if str != "" {
				if b, err := parseMemory(str); err != nil {
					d.ps.at(m, "%v", err)
				} else {
					s.Limits.Memory = b
				}
			}
		}
		if x := lf["nofile"]; x != nil {
			d.integer(x, &s.Limits.NoFile, 0, math.MaxInt32)
		}
		if x := lf["procs"]; x != nil {
			d.integer(x, &s.Limits.Procs, 0, math.MaxInt32)
		}
		if x := lf["cpu"]; x != nil {
			d.float(x, &s.Limits.CPU)
		}
	}
	if v := f["image"]; v != nil {
		imf := d.fields(v, canon+".image", "dockerfile", "context", "ref")
		im := &Image{}
		for k, dst := range map[string]*string{"dockerfile": &im.Dockerfile, "context": &im.Context, "ref": &im.Ref} {
			if x := imf[k]; x != nil {
				d.str(x, dst)
			}
		}
		if s.Runtime == RuntimeProcess {
			d.ps.at(v, "image is for the docker and kubernetes runtimes; this service runs as a process")
		}
		s.Image = im
	}
	if s.Runtime != RuntimeProcess {
		if s.Image == nil {
			s.Image = &Image{}
		}
		if s.Image.Ref == "" {
			if s.Image.Dockerfile == "" {
				s.Image.Dockerfile = "Dockerfile"
			}
			if s.Image.Context == "" {
				s.Image.Context = "."
			}
		}
	}
	if v := f["deploy"]; v != nil {
		d.deploy(v, canon+".deploy", &s.Deploy)
	}
	if v := f["hooks"]; v != nil {
		hf := d.fields(v, canon+".hooks", "launch", "before_traffic", "after_traffic", "pre_stop")
		s.Hooks.Launch = d.hook(hf["launch"], canon+".hooks.launch", OnFailureRollback)
		s.Hooks.BeforeTraffic = d.hook(hf["before_traffic"], canon+".hooks.before_traffic", OnFailureRollback)
		s.Hooks.AfterTraffic = d.hook(hf["after_traffic"], canon+".hooks.after_traffic", OnFailureRollback)
		s.Hooks.PreStop = d.hook(hf["pre_stop"], canon+".hooks.pre_stop", OnFailureContinue)
	}
	return s
}

func (d *decoder) health(n *node, canon string, h *Health) {
	f := d.fields(n, canon, "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "status", "start_period")
	if v := f["path"]; v != nil && d.str(v, &h.Path) && h.Path != "" && h.Path[0] != '/' {
		d.ps.at(v, "invalid path %q: must start with /", h.Path)
	}
	if v := f["interval"]; v != nil && d.duration(v, &h.Interval) && h.Interval == 0 {
		d.ps.at(v, "must be more than 0")
	}
	if v := f["timeout"]; v != nil && d.duration(v, &h.Timeout) && h.Timeout == 0 {
		d.ps.at(v, "must be more than 0")
	}
	if v := f["start_period"]; v != nil {
		d.duration(v, &h.StartPeriod)
	}
	if v := f["healthy_threshold"]; v != nil {
		d.integer(v, &h.HealthyThreshold, 1, 100)
	}
	if v := f["unhealthy_threshold"]; v != nil {
		d.integer(v, &h.UnhealthyThreshold, 1, 100)
	}
	if v := f["status"]; v != nil {
		var s string
		if v.kind == kInt {
			s = v.str
		} else {
			d.str(v, &s)
		}
		if s != "" {
			if r, err := parseStatusRange(s); err != nil {
				d.ps.at(v, "%v", err)
			} else {
				h.Status = r
			}
		}
	}
}

func defaultDeploy() Deploy {
	return Deploy{
		Strategy:          StrategyRolling,
		MaxSurge:          CountOrPercent{Percent: 25, IsPercent: true},
		ProgressDeadline:  10 * time.Minute,
		CircuitBreaker:    true,
		CanaryCapacity:    "scaled",
		AutoPromote:       true,
		ReadyTimeout:      10 * time.Minute,
		OnReadyTimeout:    "stop",
		TerminateOldAfter: 0,
	}
}

var deployFields = []string{"strategy", "max_surge", "max_unavailable", "min_healthy_time", "progress_deadline",
	"circuit_breaker", "steps", "preset", "canary_capacity", "sticky", "auto_promote", "ready_timeout",
	"on_ready_timeout", "terminate_old_after", "test_route", "analysis"}

func (d *decoder) deploy(n *node, canon string, dp *Deploy) {
	f := d.fields(n, canon, deployFields...)
	if v := f["strategy"]; v != nil {
		d.enum(v, &dp.Strategy, strategies)
	}
	if v := f["max_surge"]; v != nil {
		d.countOrPercent(v, &dp.MaxSurge)
	}
	if v := f["max_unavailable"]; v != nil {
		d.countOrPercent(v, &dp.MaxUnavailable)
	}
	durations := map[string]*time.Duration{"min_healthy_time": &dp.MinHealthyTime, "progress_deadline": &dp.ProgressDeadline,
		"ready_timeout": &dp.ReadyTimeout, "terminate_old_after": &dp.TerminateOldAfter}
	for k, dst := range durations {
		if v := f[k]; v != nil {
			d.duration(v, dst)
		}
	}
	for k, dst := range map[string]*bool{"circuit_breaker": &dp.CircuitBreaker, "sticky": &dp.Sticky, "auto_promote": &dp.AutoPromote} {
		if v := f[k]; v != nil {
			d.boolean(v, dst)
		}
	}
	if v := f["canary_capacity"]; v != nil {
		d.enum(v, &dp.CanaryCapacity, capacities)
	}
	if v := f["on_ready_timeout"]; v != nil {
		d.enum(v, &dp.OnReadyTimeout, onReadyTimeout)
	}
	steps, preset := f["steps"], f["preset"]
	if steps != nil && preset != nil {
		d.ps.at(preset, "preset and steps exclude each other: keep one")
	}
	for _, k := range []string{"steps", "preset", "canary_capacity", "sticky"} {
		if v := f[k]; v != nil && dp.Strategy != StrategyCanary {
			d.ps.at(v, "only for strategy canary (this service's strategy is %s)", dp.Strategy)
		}
	}
	for _, k := range []string{"auto_promote", "ready_timeout", "on_ready_timeout", "terminate_old_after"} {
		if v := f[k]; v != nil && dp.Strategy != StrategyBlueGreen {
			d.ps.at(v, "only for strategy blue_green (this service's strategy is %s)", dp.Strategy)
		}
	}
	if steps != nil {
		for i, it := range d.seq(steps) {
			dp.Steps = append(dp.Steps, d.canaryStep(it, fmt.Sprintf("%s.steps[%d]", canon, i)))
		}
	} else if preset != nil && d.enum(preset, &dp.Preset, presets) {
		dp.Steps = presetSteps(dp.Preset)
	}
	if v := f["test_route"]; v != nil {
		tf := d.fields(v, canon+".test_route", "header", "cookie", "host")
		tr := &TestRoute{}
		for k, dst := range map[string]*string{"header": &tr.Header, "cookie": &tr.Cookie, "host": &tr.Host} {
			if x := tf[k]; x != nil {
				d.str(x, dst)
			}
		}
		if tr.Host != "" && !validHost(tr.Host) {
			d.ps.at(tf["host"], "invalid host %q: a lower-case DNS name", tr.Host)
		}
		dp.TestRoute = tr
	}
	if v := f["analysis"]; v != nil {
		dp.Analysis = d.analysis(v, canon+".analysis")
	}
}

func (d *decoder) canaryStep(n *node, canon string) CanaryStep {
	var st CanaryStep
	f := d.fields(n, canon, "weight", "pause")
	if d.require(n, f, "weight") {
		w := f["weight"]
		if w.kind == kString && strings.HasSuffix(strings.TrimSpace(w.str), "%") {
			var p float64
			if d.percent(w, &p) {
				if p != math.Trunc(p) {
					d.ps.at(w, "weight %q must be a whole percentage", w.str)
				}
				st.Weight = int(p)
			}
		} else {
			d.integer(w, &st.Weight, 0, 100)
		}
	}
	if p, ok := f["pause"]; ok {
		switch {
		case p.kind == kNull:
			st.WaitForPromote = true
		case p.kind == kBool:
			if p.str != "true" {
				d.ps.at(p, "pause: false is the same as no pause; remove it")
			}
			st.WaitForPromote = true
		default:
			d.duration(p, &st.Pause)
		}
	}
	return st
}

// presetSteps expands a traffic-shifting preset; after the last step
// traffic goes to 100%.
func presetSteps(preset string) []CanaryStep {
	switch preset {
	case "canary10_5m":
		return []CanaryStep{{Weight: 10, Pause: 5 * time.Minute}}
	case "canary10_15m":
		return []CanaryStep{{Weight: 10, Pause: 15 * time.Minute}}
	case "linear10_1m", "linear10_3m":
		pause := time.Minute
		if preset == "linear10_3m" {
			pause = 3 * time.Minute
		}
		var out []CanaryStep
		for w := 10; w < 100; w += 10 {
			out = append(out, CanaryStep{Weight: w, Pause: pause})
		}
		return out
	}
	return nil // all_at_once
}

func (d *decoder) analysis(n *node, canon string) *Analysis {
	a := &Analysis{MinRequests: 50, Interval: 30 * time.Second, FailureLimit: 2, InconclusiveLimit: 5}
	f := d.fields(n, canon, "max_error_rate", "max_p99", "min_requests", "interval", "failure_limit", "inconclusive_limit", "webhooks")
	if v := f["max_error_rate"]; v != nil {
		d.percent(v, &a.MaxErrorRate)
	}
	if v := f["max_p99"]; v != nil {
		d.duration(v, &a.MaxP99)
	}
	if v := f["min_requests"]; v != nil {
		d.integer(v, &a.MinRequests, 0, math.MaxInt32)
	}
	if v := f["interval"]; v != nil && d.duration(v, &a.Interval) && a.Interval == 0 {
		d.ps.at(v, "must be more than 0")
	}
	if v := f["failure_limit"]; v != nil {
		d.integer(v, &a.FailureLimit, 0, math.MaxInt32)
	}
	if v := f["inconclusive_limit"]; v != nil {
		d.integer(v, &a.InconclusiveLimit, 0, math.MaxInt32)
	}
	if v := f["webhooks"]; v != nil {
		for i, it := range d.seq(v) {
			wf := d.fields(it, fmt.Sprintf("%s.webhooks[%d]", canon, i), "url", "timeout")
			w := Webhook{Timeout: 5 * time.Second}
			if d.require(it, wf, "url") {
				d.url(wf["url"], &w.URL)
			}
			if t := wf["timeout"]; t != nil {
				d.duration(t, &w.Timeout)
			}
			a.Webhooks = append(a.Webhooks, w)
		}
	}
	return a
}

func (d *decoder) url(n *node, dst *string) {
	if !d.str(n, dst) {
		return
	}
	u := *dst
	if len(u) < 8 || (u[:7] != "http://" && (len(u) < 9 || u[:8] != "https://")) {
		d.ps.at(n, "invalid URL %q: must start with http:// or https://", u)
	}
}

func (d *decoder) hook(n *node, canon, onFailure string) *Hook {
	if n == nil || n.kind == kNull {
		return nil
	}
	h := &Hook{Timeout: 30 * time.Second, OnFailure: onFailure}
	f := d.fields(n, canon, "command", "timeout", "on_failure")
	if n.kind != kMap {
		return h
	}
	if d.require(n, f, "command") && d.strings(f["command"], &h.Command) && len(h.Command) == 0 {
		d.ps.at(f["command"], "must name a program: an empty list runs nothing")
	}
	if v := f["timeout"]; v != nil && d.duration(v, &h.Timeout) && h.Timeout == 0 {
		d.ps.at(v, "must be more than 0")
	}
	if v := f["on_failure"]; v != nil {
		d.enum(v, &h.OnFailure, onFailures)
	}
	return h
}

func (d *decoder) notification(n *node, canon string) Notification {
	nt := Notification{}
	f := d.fields(n, canon, "url", "secret", "events")
	if n.kind != kMap {
		return nt
	}
	if d.require(n, f, "url") {
		d.url(f["url"], &nt.URL)
	}
	if v := f["secret"]; v != nil {
		d.str(v, &nt.Secret)
	}
	if v := f["events"]; v != nil {
		for _, it := range d.seq(v) {
			var e string
			if d.enum(it, &e, NotificationEvents) {
				nt.Events = append(nt.Events, e)
			}
		}
	} else {
		nt.Events = append([]string(nil), NotificationEvents...)
	}
	return nt
}

func (d *decoder) preview(n *node) *Preview {
	p := &Preview{Domain: "localhost", TTL: 72 * time.Hour, Max: 10}
	f := d.fields(n, "preview", "domain", "ttl", "max", "label", "services", "hooks")
	if v := f["domain"]; v != nil && d.str(v, &p.Domain) && !validHost(p.Domain) {
		d.ps.at(v, "invalid domain %q: a lower-case DNS name", p.Domain)
	}
	if v := f["ttl"]; v != nil {
		d.duration(v, &p.TTL)
	}
	if v := f["max"]; v != nil {
		d.integer(v, &p.Max, 1, math.MaxInt32)
	}
	if v := f["label"]; v != nil {
		d.str(v, &p.Label)
	}
	if v := f["services"]; v != nil && v.kind == kMap {
		for _, e := range v.entries {
			p.Services = append(p.Services, e.key.str)
		}
		sort.Strings(p.Services)
	}
	if v := f["hooks"]; v != nil {
		hf := d.fields(v, "preview.hooks", "on_create", "on_destroy")
		p.Hooks.OnCreate = d.hook(hf["on_create"], "preview.hooks.on_create", OnFailureContinue)
		p.Hooks.OnDestroy = d.hook(hf["on_destroy"], "preview.hooks.on_destroy", OnFailureContinue)
	}
	return p
}
