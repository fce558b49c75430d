package router

import (
	"net/http"
	"sync/atomic"

	"github.com/ferrycd/ferry/internal/router/api"
)

// service is a routed service's mutable runtime, changed only under the
// router's admin lock; the proxy reads serviceViews built from it.
type service struct {
	cfg     api.Service
	health  atomic.Pointer[healthConfig]
	metrics metrics
	groups  []*group // creation order
}

func (s *service) group(name string) *group {
	for _, g := range s.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// group is one revision's targets.
type group struct {
	name    string
	weight  int
	targets []*target
	metrics metrics
	rr      atomic.Uint64
}

func (g *group) target(id string) *target {
	for _, t := range g.targets {
		if t.id == id {
			return t
		}
	}
	return nil
}

// serviceView is an immutable snapshot of a service for the proxy.
type serviceView struct {
	name   string
	svc    *service
	groups []groupView
	total  int // sum of weights
	rules  []ruleView
	sticky bool
	lor    bool // least outstanding requests
}

type groupView struct {
	g       *group
	weight  int
	targets []*target
}

type ruleView struct {
	header string // canonical header key
	cookie string
	value  string
	host   string
	group  int // index in groups; -1 when the group does not exist (yet)
}

func (s *service) view() *serviceView {
	v := &serviceView{name: s.cfg.Name, svc: s, sticky: s.cfg.Sticky, lor: s.cfg.Balancer == balancerLeastOutstanding}
	for _, g := range s.groups {
		v.groups = append(v.groups, groupView{g: g, weight: g.weight, targets: append([]*target(nil), g.targets...)})
		v.total += g.weight
	}
	for _, r := range s.cfg.Rules {
		rv := ruleView{header: http.CanonicalHeaderKey(r.Header), cookie: r.Cookie, value: r.Value, host: r.Host, group: -1}
		for i, g := range s.groups {
			if g.name == r.Group {
				rv.group = i
			}
		}
		v.rules = append(v.rules, rv)
	}
	return v
}

// claims lists the (host, prefix) pairs the service routes: its routes and
// its rules' test hosts.
func (v *serviceView) claims() []claim {
	var cs []claim
	for _, r := range v.svc.cfg.Routes {
		cs = append(cs, claim{host: r.Host, prefix: r.PathPrefix, svc: v})
	}
	for _, r := range v.svc.cfg.Rules {
		if r.Host != "" {
			cs = append(cs, claim{host: r.Host, prefix: "/", svc: v})
		}
	}
	return cs
}
