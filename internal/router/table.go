package router

import (
	"fmt"
	"sort"
	"strings"
)

// table is an immutable routing table: host (exact or "*.suffix") plus path
// prefix → service. A new one is built on every admin change and swapped in
// atomically, so lookups take no lock and allocate nothing.
type table struct {
	exact map[string][]route // host → routes, longest prefix first
	wild  map[string][]route // ".suffix" → routes, longest prefix first
}

type route struct {
	prefix string
	svc    *serviceView
}

// claim is one (host, prefix) a service asks for.
type claim struct {
	host, prefix string
	svc          *serviceView
}

// buildTable indexes claims; two services claiming the same host and prefix
// is a conflict naming both.
func buildTable(claims []claim) (*table, error) {
	t := &table{exact: map[string][]route{}, wild: map[string][]route{}}
	owner := map[[2]string]string{}
	for _, c := range claims {
		k := [2]string{c.host, c.prefix}
		if o, ok := owner[k]; ok {
			if o == c.svc.name {
				continue
			}
			return nil, fmt.Errorf("route %s%s is already claimed by service %q", c.host, c.prefix, o)
		}
		owner[k] = c.svc.name
		m, key := t.exact, c.host
		if strings.HasPrefix(c.host, "*.") {
			m, key = t.wild, c.host[1:]
		}
		m[key] = append(m[key], route{prefix: c.prefix, svc: c.svc})
	}
	for _, m := range []map[string][]route{t.exact, t.wild} {
		for _, rs := range m {
			sort.SliceStable(rs, func(i, j int) bool { return len(rs[i].prefix) > len(rs[j].prefix) })
		}
	}
	return t, nil
}

// lookup finds the service for a normalised host (see normalizeHost) and a
// request path: an exact host first, then the longest wildcard suffix.
func (t *table) lookup(host, path string) *serviceView {
	if rs, ok := t.exact[host]; ok {
		if s := matchRoutes(rs, path); s != nil {
			return s
		}
	}
	if len(t.wild) == 0 {
		return nil
	}
	for i := 0; i < len(host); i++ {
		if host[i] != '.' {
			continue
		}
		if rs, ok := t.wild[host[i:]]; ok {
			if s := matchRoutes(rs, path); s != nil {
				return s
			}
		}
	}
	return nil
}

func matchRoutes(rs []route, path string) *serviceView {
	for i := range rs {
		if matchPrefix(rs[i].prefix, path) {
			return rs[i].svc
		}
	}
	return nil
}

// matchPrefix matches on path segment boundaries: "/api" matches "/api" and
// "/api/x" but not "/apix".
func matchPrefix(prefix, path string) bool {
	if prefix == "/" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// normalizeHost strips the port and a trailing dot and lowercases; it only
// allocates when the host has upper-case letters.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
