package controller

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/runtime"
)

// RevisionSpec is the document a revision stores: the rendered service and
// the artifact it runs. It may hold secret values (in Spec.Env), so only the
// 0600 store keeps it; MaskedSpec is what is displayed.
type RevisionSpec struct {
	App         string         `json:"app"`
	Environment string         `json:"environment"`
	Service     string         `json:"service"`
	Runtime     string         `json:"runtime"`
	Artifact    string         `json:"artifact"`
	GitSHA      string         `json:"git_sha,omitempty"`
	Spec        config.Service `json:"spec"`
	// Notifications are the app's webhook targets when this revision was
	// deployed; their secrets are in Secrets.
	Notifications []config.Notification `json:"notifications,omitempty"`
	// Secrets are the secret values found in Spec, masked out of events.
	Secrets []string `json:"secrets,omitempty"`
}

// newRevisionSpec is service name of req as a revision records it. Count is
// left out: the desired count lives on the service row, so a count change
// alone is no new revision.
func newRevisionSpec(req DeployRequest, name string) RevisionSpec {
	s := req.Services[name]
	s.Name = name
	s.Count = 0
	rt := s.Runtime
	if rt == "" {
		rt = req.Runtime
	}
	if rt == "" {
		rt = config.RuntimeProcess
	}
	return RevisionSpec{
		App: req.App, Environment: req.Environment, Service: name, Runtime: rt, Artifact: req.Artifact, GitSHA: req.GitSHA,
		Spec: s, Notifications: req.Notifications, Secrets: secretsIn(s, req.Secrets, req.Notifications),
	}
}

// secretsIn returns, sorted, the secrets that occur anywhere in s (inside
// longer strings too, in any spelling): a revision keeps only its own, so a
// secret changed for one service is no change of another. Notification
// secrets are secrets whether or not they came from the secret store.
func secretsIn(s config.Service, secrets []string, ns []config.Notification) []string {
	b, _ := json.Marshal(s)
	doc := string(b)
	var out []string
	for _, n := range ns {
		if n.Secret != "" {
			out = append(out, n.Secret)
		}
	}
	for _, v := range secrets {
		if v == "" {
			continue
		}
		for _, sp := range secretSpellings([]string{v}) {
			if strings.Contains(doc, sp) {
				out = append(out, v)
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// secretSpellings lists each value with the spellings it takes when quoted
// by JSON or by %q, all of which are masked.
func secretSpellings(values []string) []string {
	var out []string
	for _, v := range values {
		if v == "" {
			continue
		}
		j, _ := json.Marshal(v)
		q := strconv.Quote(v)
		out = append(out, v, string(j[1:len(j)-1]), q[1:len(q)-1])
	}
	return out
}

// masked is the spec as displayed: every secret value replaced by ***.
func (r RevisionSpec) masked() (json.RawMessage, error) {
	m := newMasker(r.secretsFor())
	r.Secrets = nil
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(m.mask(string(b))), nil
}

// secretsFor lists the values to mask, in every spelling.
func (r RevisionSpec) secretsFor() []string { return secretSpellings(r.Secrets) }

// routed services are put in the router and get traffic; the others are
// healthy as soon as their process runs.
func (r RevisionSpec) routed() bool { return r.Spec.Port != "" && len(r.Spec.Routes) > 0 }

// sameAs reports whether two specs would run the same thing.
func (r RevisionSpec) sameAs(o RevisionSpec) bool {
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// params are the deploy engine's parameters for this spec.
func (r RevisionSpec) params() deploy.Params {
	d := r.Spec.Deploy
	p := deploy.Params{
		Strategy:              deploy.Strategy(d.Strategy),
		MinHealthyTime:        d.MinHealthyTime,
		ProgressDeadline:      d.ProgressDeadline,
		DisableCircuitBreaker: !d.CircuitBreaker,
	}
	if d.MaxSurge != (config.CountOrPercent{}) {
		p.MaxSurge = deploy.Quantity(d.MaxSurge.String())
	}
	if d.MaxUnavailable != (config.CountOrPercent{}) {
		p.MaxUnavailable = deploy.Quantity(d.MaxUnavailable.String())
	}
	for _, st := range d.Steps {
		p.Steps = append(p.Steps, deploy.Step{Weight: st.Weight, Pause: st.Pause, WaitForPromote: st.WaitForPromote})
	}
	p.FixedCapacity = d.CanaryCapacity == "fixed"
	p.AutoPromote, p.ReadyTimeout, p.TerminateOldAfter = d.AutoPromote, d.ReadyTimeout, d.TerminateOldAfter
	p.ContinueOnTimeout = d.OnReadyTimeout == "continue"
	p.TestRoute = d.TestRoute != nil && (d.TestRoute.Header != "" || d.TestRoute.Cookie != "" || d.TestRoute.Host != "")
	if a := d.Analysis; a != nil {
		p.Analysis = &deploy.Analysis{MaxErrorRate: a.MaxErrorRate, MaxP99: a.MaxP99, MinRequests: a.MinRequests,
			Interval: a.Interval, FailureLimit: a.FailureLimit, InconclusiveLimit: a.InconclusiveLimit}
	}
	h := r.Spec.Hooks
	for name, hk := range map[deploy.HookName]*config.Hook{deploy.HookLaunch: h.Launch,
		deploy.HookBeforeTraffic: h.BeforeTraffic, deploy.HookAfterTraffic: h.AfterTraffic} {
		if hk != nil && len(hk.Command) > 0 {
			if p.Hooks == nil {
				p.Hooks = map[deploy.HookName]deploy.OnFailure{}
			}
			p.Hooks[name] = deploy.OnFailure(hk.OnFailure)
		}
	}
	return p
}

// hook is the declared command of an engine-run hook; nil when none.
func (r RevisionSpec) hook(name deploy.HookName) *config.Hook {
	h := r.Spec.Hooks
	switch name {
	case deploy.HookLaunch:
		return h.Launch
	case deploy.HookBeforeTraffic:
		return h.BeforeTraffic
	case deploy.HookAfterTraffic:
		return h.AfterTraffic
	}
	return nil
}

// testRules are the router rules that send test traffic to group.
func (r RevisionSpec) testRules(group string) []api.Rule {
	tr := r.Spec.Deploy.TestRoute
	if tr == nil || group == "" {
		return nil
	}
	var out []api.Rule
	if tr.Header != "" {
		name, value := splitPair(tr.Header)
		out = append(out, api.Rule{Header: name, Value: value, Group: group})
	}
	if tr.Cookie != "" {
		name, value := splitPair(tr.Cookie)
		out = append(out, api.Rule{Cookie: name, Value: value, Group: group})
	}
	if tr.Host != "" {
		out = append(out, api.Rule{Host: tr.Host, Group: group})
	}
	return out
}

// splitPair reads a test route's header or cookie: "name: value" or
// "name=value"; a bare name matches the value "1".
func splitPair(s string) (string, string) {
	i := strings.IndexAny(s, ":=")
	if i < 0 {
		return strings.TrimSpace(s), "1"
	}
	return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
}

// routerService is the router's view of the service, its test rules
// pointing at testGroup ("" for none).
func (r RevisionSpec) routerService(name, testGroup string) api.Service {
	s := r.Spec
	out := api.Service{Name: name, DrainTimeout: s.DrainTimeout, Sticky: s.Deploy.Sticky, Rules: r.testRules(testGroup),
		Health: api.HealthCheck{
			Path: s.Health.Path, Interval: s.Health.Interval, Timeout: s.Health.Timeout,
			HealthyThreshold: s.Health.HealthyThreshold, UnhealthyThreshold: s.Health.UnhealthyThreshold,
			StartPeriod: s.Health.StartPeriod,
		}}
	if st := s.Health.Status; st != (config.StatusRange{}) {
		out.Health.Status = fmt.Sprintf("%d-%d", st.Min, st.Max)
	}
	for _, rt := range s.Routes {
		out.Routes = append(out.Routes, api.Route{Host: rt.Host, PathPrefix: rt.Path})
	}
	return out
}

// taskSpec is what the driver starts for task id.
func (r RevisionSpec) taskSpec(id string, rev int, dir string, port int) runtime.TaskSpec {
	s := r.Spec
	image := ""
	if s.Image != nil {
		image = s.Image.Ref // the digest ferry deploy built, or the image referenced
	}
	return runtime.TaskSpec{
		ID: id, App: r.App, Environment: r.Environment, Service: r.Service, Revision: rev, Dir: dir, Image: image,
		Command: s.Command, Env: s.Env, Port: port, StopSignal: s.StopSignal, StopTimeout: s.StopTimeout,
		Limits: runtime.Limits{MemoryBytes: s.Limits.Memory, NoFile: uint64(max(s.Limits.NoFile, 0)),
			Procs: uint64(max(s.Limits.Procs, 0)), CPU: s.Limits.CPU},
	}
}

// stopTimeout is how long a stop may take before SIGKILL, plus a margin for
// the driver to see the exit.
func (r RevisionSpec) stopTimeout() time.Duration {
	if r.Spec.StopTimeout > 0 {
		return r.Spec.StopTimeout
	}
	return 10 * time.Second
}
