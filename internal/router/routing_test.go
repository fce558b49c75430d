package router

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/router/api"
)

func TestRoutingThroughSockets(t *testing.T) {
	rt, base := startRouter(t, Options{})
	shop, api1, pr := newBackend(t, "shop"), newBackend(t, "api"), newBackend(t, "preview")
	mustSetup(t, rt, api.Service{Name: "shop", Routes: []api.Route{{Host: "shop.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {shop}})
	mustSetup(t, rt, api.Service{Name: "api", Routes: []api.Route{{Host: "shop.test", PathPrefix: "/api"}}, Health: fastHealth}, map[string][]*backend{"v1": {api1}})
	mustSetup(t, rt, api.Service{Name: "previews", Routes: []api.Route{{Host: "*.preview.test"}}, Health: fastHealth}, map[string][]*backend{"v1": {pr}})
	cases := []struct{ host, path, want string }{
		{"shop.test", "/", "shop"},
		{"SHOP.test:8080", "/cart", "shop"},
		{"shop.test", "/api/orders", "api"},
		{"shop.test", "/apiary", "shop"},
		{"pr-7.preview.test", "/", "preview"},
	}
	for _, tc := range cases {
		code, body, _ := get(t, http.DefaultClient, base, tc.host, tc.path)
		if code != 200 || body != tc.want {
			t.Errorf("%s%s → %d %q, want %q", tc.host, tc.path, code, body, tc.want)
		}
	}
	code, body, _ := get(t, http.DefaultClient, base, "nobody.test", "/x")
	if code != http.StatusNotFound || !strings.Contains(body, "no service is routed at nobody.test/x") {
		t.Errorf("unknown host → %d %q, want a 404 saying no service is routed there", code, body)
	}
	// A claim on a route another service holds is refused and changes nothing.
	err := rt.PutService(api.Service{Name: "thief", Routes: []api.Route{{Host: "shop.test", PathPrefix: "/api/"}}})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `"api"`) {
		t.Fatalf("conflicting claim: %v, want a conflict naming service api", err)
	}
	if _, err := rt.Service("thief"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused service was kept: %v", err)
	}
	if _, body, _ := get(t, http.DefaultClient, base, "shop.test", "/api"); body != "api" {
		t.Fatalf("after the refused claim /api → %q", body)
	}
}

// TestWeightsConverge splits 2000 requests 20/80 and checks the split.
func TestWeightsConverge(t *testing.T) {
	rt, base := startRouter(t, Options{})
	blue, green := newBackend(t, "blue"), newBackend(t, "green")
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth},
		map[string][]*backend{"blue": {blue}, "green": {green}})
	if err := rt.SetWeights("web", map[string]int{"blue": 80, "green": 20}); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := 0; i < n; i++ {
		if code, _, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	share := float64(green.hits.Load()) / n
	// 4 standard deviations of a binomial(2000, 0.2) is about 0.036.
	if math.Abs(share-0.2) > 0.04 {
		t.Fatalf("green got %.3f of the traffic, want 0.20±0.04", share)
	}
	// Blue/green switch: all traffic moves at once.
	if err := rt.SetWeights("web", map[string]int{"blue": 0, "green": 100}); err != nil {
		t.Fatal(err)
	}
	before := blue.hits.Load()
	for i := 0; i < 100; i++ {
		get(t, http.DefaultClient, base, "web.test", "/")
	}
	if blue.hits.Load() != before {
		t.Fatalf("blue at weight 0 got %d requests", blue.hits.Load()-before)
	}
	for _, bad := range []map[string]int{{"blue": 101}, {"red": 10}} {
		if err := rt.SetWeights("web", bad); err == nil {
			t.Errorf("SetWeights(%v): no error", bad)
		}
	}
}

func TestRulesAndStickiness(t *testing.T) {
	rt, base := startRouter(t, Options{})
	blue, green := newBackend(t, "blue"), newBackend(t, "green")
	mustSetup(t, rt, api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth, Sticky: true,
		Rules: []api.Rule{
			{Header: "X-Ferry-Group", Value: "green", Group: "green"},
			{Cookie: "canary", Value: "yes", Group: "green"},
			{Host: "test.web.test", Group: "green"},
		}},
		map[string][]*backend{"blue": {blue}, "green": {green}})
	if err := rt.SetWeights("web", map[string]int{"blue": 100, "green": 0}); err != nil {
		t.Fatal(err)
	}
	c := http.DefaultClient
	for _, tc := range []struct {
		name, host string
		hdr        []string
		want       string
	}{
		{"no rule", "web.test", nil, "blue"},
		{"header rule", "web.test", []string{"X-Ferry-Group", "green"}, "green"},
		{"header with another value", "web.test", []string{"X-Ferry-Group", "red"}, "blue"},
		{"cookie rule", "web.test", []string{"Cookie", "a=1; canary=yes"}, "green"},
		{"test host", "test.web.test", nil, "green"},
	} {
		if _, body, _ := get(t, c, base, tc.host, "/", tc.hdr...); body != tc.want {
			t.Errorf("%s: went to %q, want %q", tc.name, body, tc.want)
		}
	}
	// Stickiness: a client keeps the group it was first sent to while
	// weights move, as long as that group still has weight.
	if err := rt.SetWeights("web", map[string]int{"blue": 50, "green": 50}); err != nil {
		t.Fatal(err)
	}
	_, first, h := get(t, c, base, "web.test", "/")
	cookie := h.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, stickyCookie+"="+first) {
		t.Fatalf("sticky service set cookie %q after sending to %s", cookie, first)
	}
	for i := 0; i < 50; i++ {
		if _, body, _ := get(t, c, base, "web.test", "/", "Cookie", stickyCookie+"="+first); body != first {
			t.Fatalf("sticky client moved from %s to %s", first, body)
		}
	}
}
