package deploy

import "maps"

// wantRouter sets the split this plan wants; the last call wins.
func (p *planner) wantRouter(weights map[string]int, testGroup string) {
	p.want = &RouterView{Weights: weights, TestGroup: testGroup}
}

// syncRouter emits SetWeights and SetRules where the router (or what this
// plan already emitted) differs from what is wanted. Groups the router does
// not have yet are left out: a group exists once a target was added.
func (p *planner) syncRouter() {
	have := p.s.Router
	if p.sent != nil {
		have = p.sent
	}
	if have == nil || p.want == nil {
		return
	}
	next := &RouterView{Weights: have.Weights, TestGroup: have.TestGroup}
	w := map[string]int{}
	for g, v := range p.want.Weights {
		if _, ok := have.Weights[g]; ok {
			w[g] = v
		}
	}
	if len(w) > 0 && differs(have.Weights, w) {
		p.emit(SetWeights{Weights: w})
		next.Weights = maps.Clone(have.Weights)
		for g := range next.Weights {
			next.Weights[g] = w[g]
		}
	}
	if tg := p.want.TestGroup; tg != have.TestGroup {
		if _, ok := have.Weights[tg]; ok || tg == "" {
			p.emit(SetRules{TestGroup: tg})
			next.TestGroup = tg
		}
	}
	p.sent = next
}

// routerApplied reports whether the router, as the snapshot saw it, already
// applies what this plan wants (true when the router is unknown: there is
// nothing to wait for).
func (p *planner) routerApplied() bool {
	have := p.s.Router
	if have == nil || p.want == nil {
		return true
	}
	w := map[string]int{}
	for g, v := range p.want.Weights {
		if _, ok := have.Weights[g]; ok {
			w[g] = v
		}
	}
	if len(w) > 0 && differs(have.Weights, w) {
		return false
	}
	_, exists := have.Weights[p.want.TestGroup]
	return p.want.TestGroup == have.TestGroup || (p.want.TestGroup != "" && !exists)
}

// differs reports whether applying want (other groups at 0) changes have.
func differs(have, want map[string]int) bool {
	for g, v := range have {
		if want[g] != v {
			return true
		}
	}
	return false
}
