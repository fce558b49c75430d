package router

import (
	"net/http"
	"strings"
)

const (
	balancerRoundRobin       = "round_robin"
	balancerLeastOutstanding = "least_outstanding"
	// stickyCookie names the group a sticky client was sent to.
	stickyCookie = "ferry-group"
)

// pickGroup chooses the group for a request: a matching rule wins whatever
// the weights; then a sticky client's cookie (if its group still has weight);
// then the weights, rolled with roll(n) ∈ [0,n). A chosen group with no usable
// target falls back to another that has one. It returns -1 when no group can
// take the request, and whether a sticky cookie should be set.
func (v *serviceView) pickGroup(h requestHeaders, host string, roll func(int) int) (gi int, setSticky bool) {
	for i := range v.rules {
		if v.rules[i].match(h, host) {
			return v.rules[i].group, false
		}
	}
	if v.sticky {
		for i := range v.groups {
			if v.groups[i].weight > 0 && h.cookie(stickyCookie, v.groups[i].g.name) && v.groups[i].usable() {
				return i, false
			}
		}
	}
	gi = -1
	if v.total > 0 {
		x := roll(v.total)
		for i := range v.groups {
			if x -= v.groups[i].weight; x < 0 {
				gi = i
				break
			}
		}
	} else if len(v.groups) > 0 {
		gi = roll(len(v.groups))
	}
	if gi < 0 || !v.groups[gi].usable() {
		gi = v.fallback()
	}
	return gi, v.sticky && gi >= 0
}

// fallback is the heaviest usable group, or -1.
func (v *serviceView) fallback() int {
	best := -1
	for i := range v.groups {
		if v.groups[i].usable() && (best < 0 || v.groups[i].weight > v.groups[best].weight) {
			best = i
		}
	}
	return best
}

func (r *ruleView) match(h requestHeaders, host string) bool {
	switch {
	case r.host != "":
		return host == r.host
	case r.header != "":
		return h.hasValue(r.header, r.value)
	case r.cookie != "":
		return h.cookie(r.cookie, r.value)
	}
	return false
}

// requestHeaders is what rules and stickiness read of a request; both the
// net/http path and the fast path's raw headers provide it.
type requestHeaders interface {
	// hasValue: a header named key (canonical form) has exactly value.
	hasValue(key, value string) bool
	// cookie: the Cookie headers hold name=value.
	cookie(name, value string) bool
}

// stdHeaders adapts http.Header.
type stdHeaders http.Header

func (h stdHeaders) hasValue(key, value string) bool {
	for _, v := range h[key] {
		if v == value {
			return true
		}
	}
	return false
}

func (h stdHeaders) cookie(name, value string) bool {
	v, ok := cookieValue(http.Header(h), name)
	return ok && v == value
}

// cookieValue finds a cookie in the Cookie headers without allocating.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}

// usable: the group has a healthy target, or fails open.
func (gv *groupView) usable() bool {
	h, u := gv.counts()
	return h > 0 || u > 0
}

// failOpen: no healthy target but some unhealthy ones, which then take the
// traffic as ALB does. Targets still in their initial checks never do.
func (gv *groupView) failOpen() bool {
	h, u := gv.counts()
	return h == 0 && u > 0
}

func (gv *groupView) counts() (healthy, unhealthy int) {
	for _, t := range gv.targets {
		switch t.state.Load() {
		case stHealthy:
			healthy++
		case stUnhealthy:
			unhealthy++
		}
	}
	return
}

// pickTarget chooses a target not in tried: healthy ones by the balancer, or
// unhealthy ones when the group fails open.
func (gv *groupView) pickTarget(lor bool, tried []*target) *target {
	if t := gv.pickIn(stHealthy, lor, tried); t != nil {
		return t
	}
	if h, _ := gv.counts(); h > 0 {
		return nil // healthy targets exist but were all tried
	}
	return gv.pickIn(stUnhealthy, lor, tried)
}

func (gv *groupView) pickIn(state int32, lor bool, tried []*target) *target {
	n := len(gv.targets)
	if n == 0 {
		return nil
	}
	start := int(gv.g.rr.Add(1) % uint64(n))
	var best *target
	var bestLoad int64
	for i := 0; i < n; i++ {
		t := gv.targets[(start+i)%n]
		if t.state.Load() != state || contains(tried, t) {
			continue
		}
		if !lor {
			return t
		}
		if l := t.inflight.Load(); best == nil || l < bestLoad {
			best, bestLoad = t, l
		}
	}
	return best
}

func contains(ts []*target, t *target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
