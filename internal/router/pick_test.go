package router

import (
	"net/http"
	"testing"

	"github.com/ferrycd/ferry/internal/router/api"
)

func testTarget(id string, state int32, inflight int64) *target {
	t := newTarget(api.Target{ID: id, Addr: "127.0.0.1:1"}, 0)
	t.state.Store(state)
	t.inflight.Store(inflight)
	return t
}

func TestPickTarget(t *testing.T) {
	a, b := testTarget("a", stHealthy, 5), testTarget("b", stHealthy, 1)
	sick, fresh := testTarget("sick", stUnhealthy, 0), testTarget("fresh", stInitial, 0)
	gv := &groupView{g: &group{}, targets: []*target{a, sick, b, fresh}}
	counts := map[string]int{}
	for i := 0; i < 100; i++ {
		counts[gv.pickTarget(false, nil).id]++
	}
	if counts["a"] != 50 || counts["b"] != 50 {
		t.Errorf("round robin over healthy targets: %v", counts)
	}
	for i := 0; i < 10; i++ {
		if got := gv.pickTarget(true, nil); got != b {
			t.Fatalf("least outstanding picked %s (in flight %d)", got.id, got.inflight.Load())
		}
	}
	if got := gv.pickTarget(true, []*target{b}); got != a {
		t.Errorf("with b tried: %v", got)
	}
	if got := gv.pickTarget(false, []*target{a, b}); got != nil {
		t.Errorf("all healthy targets tried: got %s, want none (no fail-open while healthy ones exist)", got.id)
	}
	open := &groupView{g: &group{}, targets: []*target{sick, fresh}}
	if got := open.pickTarget(false, nil); got != sick || !open.failOpen() {
		t.Errorf("fail open: got %v, failOpen %v", got, open.failOpen())
	}
	initialOnly := &groupView{g: &group{}, targets: []*target{fresh}}
	if got := initialOnly.pickTarget(false, nil); got != nil || initialOnly.usable() {
		t.Errorf("a group of unchecked targets takes traffic")
	}
}

func TestPickGroup(t *testing.T) {
	healthy := func() []*target { return []*target{testTarget("t", stHealthy, 0)} }
	mk := func(sticky bool, rules []ruleView, groups ...groupView) *serviceView {
		v := &serviceView{name: "s", sticky: sticky, rules: rules, groups: groups}
		for _, g := range groups {
			v.total += g.weight
		}
		return v
	}
	blue := func(w int) groupView { return groupView{g: &group{name: "blue"}, weight: w, targets: healthy()} }
	green := func(w int) groupView { return groupView{g: &group{name: "green"}, weight: w, targets: healthy()} }
	empty := groupView{g: &group{name: "empty"}, weight: 100}
	first := func(int) int { return 0 }
	last := func(n int) int { return n - 1 }
	h := func(kv ...string) requestHeaders {
		hh := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			hh.Add(kv[i], kv[i+1])
		}
		return stdHeaders(hh)
	}
	rule := []ruleView{{header: "X-Ferry-Group", value: "green", group: 1}}
	cases := []struct {
		name       string
		v          *serviceView
		hdr        requestHeaders
		roll       func(int) int
		want       int
		wantSticky bool
	}{
		{"weights, low roll", mk(false, nil, blue(90), green(10)), h(), first, 0, false},
		{"weights, high roll", mk(false, nil, blue(90), green(10)), h(), last, 1, false},
		{"weight 0 never rolled", mk(false, nil, blue(100), green(0)), h(), last, 0, false},
		{"rule beats weights", mk(false, rule, blue(100), green(0)), h("X-Ferry-Group", "green"), first, 1, false},
		{"rule on a missing group", mk(false, []ruleView{{header: "X-Ferry-Group", value: "red", group: -1}}, blue(100)), h("X-Ferry-Group", "red"), first, -1, false},
		{"sticky cookie kept", mk(true, nil, blue(50), green(50)), h("Cookie", "ferry-group=green"), first, 1, false},
		{"sticky cookie to weight 0 ignored", mk(true, nil, blue(100), green(0)), h("Cookie", "ferry-group=green"), first, 0, true},
		{"sticky sets a cookie", mk(true, nil, blue(50), green(50)), h(), first, 0, true},
		{"chosen group empty: fall back", mk(false, nil, empty, blue(0)), h(), first, 1, false},
		{"all weights 0: even split", mk(false, nil, blue(0), green(0)), h(), last, 1, false},
		{"nothing usable", mk(false, nil, empty), h(), first, -1, false},
	}
	for _, tc := range cases {
		got, sticky := tc.v.pickGroup(tc.hdr, "x.test", tc.roll)
		if got != tc.want || sticky != tc.wantSticky {
			t.Errorf("%s: group %d sticky %v, want %d %v", tc.name, got, sticky, tc.want, tc.wantSticky)
		}
	}
}
