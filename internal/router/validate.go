package router

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

const defaultDrainTimeout = 30 * time.Second

// normalizeService checks a service from the admin API and returns it with
// defaults applied (hosts lowercased, prefixes canonical, balancer and drain
// timeout set). Errors name the field and the value.
func normalizeService(s api.Service) (api.Service, *healthConfig, error) {
	bad := func(format string, a ...any) (api.Service, *healthConfig, error) {
		return api.Service{}, nil, fmt.Errorf("service %q: "+format, append([]any{s.Name}, a...)...)
	}
	if strings.TrimSpace(s.Name) == "" || strings.ContainsAny(s.Name, "\x00\r\n") {
		return bad("name: must be a non-empty single line")
	}
	if len(s.Routes) == 0 {
		return bad("routes: at least one route is required")
	}
	routes := make([]api.Route, len(s.Routes))
	for i, r := range s.Routes {
		h, err := canonicalHost(r.Host, true)
		if err != nil {
			return bad("routes[%d].host: %v", i, err)
		}
		p := r.PathPrefix
		if p == "" {
			p = "/"
		}
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " ?#\x00") {
			return bad("routes[%d].path_prefix %q: must start with / and hold no query or spaces", i, r.PathPrefix)
		}
		if len(p) > 1 {
			p = strings.TrimRight(p, "/")
			if p == "" {
				p = "/"
			}
		}
		routes[i] = api.Route{Host: h, PathPrefix: p}
	}
	s.Routes = routes
	switch s.Balancer {
	case "":
		s.Balancer = balancerRoundRobin
	case balancerRoundRobin, balancerLeastOutstanding:
	default:
		return bad("balancer %q: must be %s or %s", s.Balancer, balancerRoundRobin, balancerLeastOutstanding)
	}
	if s.DrainTimeout < 0 {
		return bad("drain_timeout %s: must not be negative", s.DrainTimeout)
	}
	if s.DrainTimeout == 0 {
		s.DrainTimeout = defaultDrainTimeout
	}
	h := s.Health
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		return bad("health.path %q: must start with /", h.Path)
	}
	if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.HealthyThreshold < 0 || h.UnhealthyThreshold < 0 {
		return bad("health: interval, timeout, start period and thresholds must not be negative")
	}
	hc, err := newHealthConfig(h)
	if err != nil {
		return bad("%v", err)
	}
	rules := make([]api.Rule, len(s.Rules))
	for i, r := range s.Rules {
		kinds := 0
		for _, f := range []string{r.Header, r.Cookie, r.Host} {
			if f != "" {
				kinds++
			}
		}
		if kinds != 1 {
			return bad("rules[%d]: exactly one of header, cookie or host must be set", i)
		}
		if r.Group == "" {
			return bad("rules[%d].group: required", i)
		}
		if r.Host != "" {
			if r.Host, err = canonicalHost(r.Host, false); err != nil {
				return bad("rules[%d].host: %v", i, err)
			}
		} else if r.Value == "" {
			return bad("rules[%d].value: required with a header or cookie", i)
		}
		rules[i] = r
	}
	s.Rules = rules
	return s, hc, nil
}

// canonicalHost lowercases a DNS name and checks its characters; a leading
// "*." wildcard is allowed where wild is.
func canonicalHost(h string, wild bool) (string, error) {
	orig := h
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	name := h
	if wild && strings.HasPrefix(h, "*.") {
		name = h[2:]
	}
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("%q is not a host name", orig)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%q is not a host name", orig)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name (character %q)", orig, c)
			}
		}
	}
	return h, nil
}

// checkTarget validates a target from the admin API.
func checkTarget(t api.Target) error {
	if t.ID == "" {
		return fmt.Errorf("target %q: id is required", t.Addr)
	}
	host, port, err := net.SplitHostPort(t.Addr)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("target %q: addr %q must be host:port", t.ID, t.Addr)
	}
	return nil
}
