package config

import (
	"fmt"
	"sort"
)

// crossChecks are the rules that span fields or services; each problem is
// positioned at the value that breaks the rule.
func (d *decoder) crossChecks(def *Definition) {
	type claim struct {
		n     *node
		where string
	}
	routes := map[Route][]claim{}
	for _, name := range def.ServiceNames() {
		s := def.Services[name]
		canon := "services." + name
		if s.Port == "" {
			if n := d.at[canon+".routes"]; n != nil && len(s.Routes) > 0 {
				d.ps.at(n, "routes need port: http (a service without a port takes no traffic)")
			}
			if n := d.at[canon+".health.path"]; n != nil && s.Health.Path != "" {
				d.ps.at(n, "a health path needs port: http (a service without a port has nothing to check)")
			}
		}
		if rn := d.at[canon+".routes"]; rn != nil && rn.kind == kSeq {
			for i, r := range s.Routes {
				if i < len(rn.items) && r.Host != "" {
					c := claim{rn.items[i], fmt.Sprintf("%s.routes[%d]", canon, i)}
					routes[r] = append(routes[r], c)
				}
			}
		}
	}
	for r, cs := range routes {
		if len(cs) < 2 {
			continue
		}
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].n.line != cs[j].n.line {
				return cs[i].n.line < cs[j].n.line
			}
			return cs[i].n.col < cs[j].n.col
		})
		for _, c := range cs[1:] {
			d.ps.at(c.n, "route %s%s is claimed twice: already by %s (line %d)", r.Host, r.Path, cs[0].where, cs[0].n.line)
		}
	}
}
