package router

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/ferrycd/ferry/internal/router/api"
)

// benchView builds a table of 200 services (exact and wildcard hosts, path
// prefixes), each with two weighted groups of four healthy targets.
func benchTable(b *testing.B) *table {
	var claims []claim
	for i := 0; i < 200; i++ {
		s := &service{cfg: api.Service{Name: fmt.Sprintf("svc-%d", i), Rules: []api.Rule{{Header: "X-Ferry-Group", Value: "green", Group: "green"}}}}
		for _, g := range []string{"blue", "green"} {
			grp := &group{name: g, weight: 50}
			for j := 0; j < 4; j++ {
				t := newTarget(api.Target{ID: fmt.Sprint(j), Addr: fmt.Sprintf("127.0.0.1:%d", 9000+j)}, 0)
				t.state.Store(stHealthy)
				grp.targets = append(grp.targets, t)
			}
			s.groups = append(s.groups, grp)
		}
		v := s.view()
		claims = append(claims,
			claim{host: fmt.Sprintf("app%d.example.com", i), prefix: "/", svc: v},
			claim{host: fmt.Sprintf("app%d.example.com", i), prefix: "/api", svc: v},
			claim{host: fmt.Sprintf("*.pr%d.example.com", i), prefix: "/", svc: v})
	}
	tb, err := buildTable(claims)
	if err != nil {
		b.Fatal(err)
	}
	return tb
}

// BenchmarkRoutingDecision is the whole per-request decision: host
// normalisation, host+path lookup, group pick (rules, weights), target pick.
func BenchmarkRoutingDecision(b *testing.B) {
	tb := benchTable(b)
	h := http.Header{"Accept": {"*/*"}, "Cookie": {"session=abc; theme=dark"}}
	hosts := []string{"app17.example.com:8080", "feature-x.pr42.example.com", "app199.example.com"}
	paths := []string{"/api/orders/17", "/", "/static/app.js"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		host := normalizeHost(hosts[i%3])
		v := tb.lookup(host, paths[i%3])
		if v == nil {
			b.Fatal("no route")
		}
		gi, _ := v.pickGroup(stdHeaders(h), host, rand.IntN)
		if t := v.groups[gi].pickTarget(v.lor, nil); t == nil {
			b.Fatal("no target")
		}
	}
}
