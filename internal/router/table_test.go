package router

import (
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/router/api"
)

func svcView(name string) *serviceView { return &serviceView{name: name} }

func TestTableLookup(t *testing.T) {
	a, b, c, d := svcView("a"), svcView("b"), svcView("c"), svcView("d")
	tb, err := buildTable([]claim{
		{host: "shop.example.com", prefix: "/", svc: a},
		{host: "shop.example.com", prefix: "/api", svc: b},
		{host: "*.example.com", prefix: "/", svc: c},
		{host: "*.pr.example.com", prefix: "/", svc: d},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host, path string
		want       *serviceView
	}{
		{"shop.example.com", "/", a},
		{"shop.example.com", "/cart", a},
		{"shop.example.com", "/api", b},
		{"shop.example.com", "/api/v1/x", b},
		{"shop.example.com", "/apix", a}, // prefixes match whole segments
		{"other.example.com", "/", c},
		{"deep.other.example.com", "/x", c},
		{"pr-42.pr.example.com", "/", d}, // longest wildcard suffix wins
		{"example.com", "/", nil},        // a wildcard needs a subdomain
		{"shop.example.org", "/", nil},
	}
	for _, tc := range cases {
		if got := tb.lookup(tc.host, tc.path); got != tc.want {
			t.Errorf("lookup(%q, %q) = %v, want %v", tc.host, tc.path, got, tc.want)
		}
	}
}

func TestTableConflictNamesTheOwner(t *testing.T) {
	_, err := buildTable([]claim{
		{host: "x.test", prefix: "/api", svc: svcView("first")},
		{host: "x.test", prefix: "/api", svc: svcView("second")},
	})
	if err == nil || !strings.Contains(err.Error(), `"first"`) {
		t.Fatalf("err = %v, want a conflict naming service first", err)
	}
	// Same host, other prefix: no conflict.
	if _, err := buildTable([]claim{
		{host: "x.test", prefix: "/api", svc: svcView("first")},
		{host: "x.test", prefix: "/", svc: svcView("second")},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Shop.Example.COM:8080": "shop.example.com",
		"shop.example.com.":     "shop.example.com",
		"[::1]:80":              "[::1]",
		"localhost":             "localhost",
	} {
		if got := normalizeHost(in); got != want {
			t.Errorf("normalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeServiceRejectsBadInput(t *testing.T) {
	ok := api.Service{Name: "s", Routes: []api.Route{{Host: "a.test"}}}
	cases := map[string]func(s *api.Service){
		`routes[0].host`:          func(s *api.Service) { s.Routes[0].Host = "bad host" },
		`routes[0].path_prefix`:   func(s *api.Service) { s.Routes[0].PathPrefix = "api" },
		`balancer "random"`:       func(s *api.Service) { s.Balancer = "random" },
		`health.status "abc"`:     func(s *api.Service) { s.Health.Status = "abc" },
		`rules[0]: exactly one`:   func(s *api.Service) { s.Rules = []api.Rule{{Header: "X", Cookie: "y", Value: "1", Group: "g"}} },
		`rules[0].group`:          func(s *api.Service) { s.Rules = []api.Rule{{Header: "X", Value: "1"}} },
		`routes: at least one`:    func(s *api.Service) { s.Routes = nil },
		`drain_timeout -1s`:       func(s *api.Service) { s.DrainTimeout = -1e9 },
		`name: must be non-empty`: func(s *api.Service) { s.Name = "" },
	}
	for want, mut := range cases {
		s := ok
		s.Routes = append([]api.Route(nil), ok.Routes...)
		mut(&s)
		_, _, err := normalizeService(s)
		if err == nil || !strings.Contains(err.Error(), strings.Fields(want)[0]) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	got, _, err := normalizeService(api.Service{Name: "s", Routes: []api.Route{{Host: "A.Test.", PathPrefix: "/api/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Routes[0]; r.Host != "a.test" || r.PathPrefix != "/api" || got.Balancer != balancerRoundRobin || got.DrainTimeout != defaultDrainTimeout {
		t.Fatalf("normalised = %+v", got)
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tg := range []api.Target{{ID: "a", Addr: "127.0.0.1:8080"}, {ID: "b", Addr: "[::1]:80"}, {ID: "c", Addr: "task.internal:9000"}} {
		if err := checkTarget(tg); err != nil {
			t.Errorf("%+v: %v", tg, err)
		}
	}
	for _, tg := range []api.Target{{ID: "", Addr: "127.0.0.1:80"}, {ID: "x", Addr: "127.0.0.1"}, {ID: "x", Addr: ":80"}, {ID: "x", Addr: "h:0"}, {ID: "x", Addr: "h:http"}} {
		if err := checkTarget(tg); err == nil {
			t.Errorf("%+v accepted", tg)
		}
	}
}
