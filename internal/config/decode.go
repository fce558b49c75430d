package config

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// decoder turns a tree into typed values, strictly: every unknown field,
// wrong type or invalid value is a problem, and decoding goes on so that all
// problems are reported at once. Positions and field paths come from the
// nodes, so a value from an overlay is reported in the overlay.
type decoder struct {
	ps *problems
	at map[string]*node // canonical path → node, for later checks
}

// fields checks that n is a mapping holding only known fields and returns
// them by name. A null value is an empty mapping.
func (d *decoder) fields(n *node, canon string, known ...string) map[string]*node {
	out := map[string]*node{}
	if n == nil || n.kind == kNull || n.bad {
		return out
	}
	if n.kind != kMap {
		d.ps.at(n, "expected a mapping, got %s", n.kind)
		return out
	}
	for _, e := range n.entries {
		if canon == "" && strings.HasPrefix(e.key.str, "x-") {
			continue // top-level extension fields hold anchors for reuse
		}
		if !contains(known, e.key.str) {
			d.ps.add(e.key.line, e.key.col, e.key.path, "unknown field%s", suggest(e.key.str, known))
			continue
		}
		out[e.key.str] = e.val
		d.at[canon+"."+e.key.str] = e.val
	}
	return out
}

// require reports field name missing from mapping n.
func (d *decoder) require(n *node, f map[string]*node, name string) bool {
	if v, ok := f[name]; ok && v.kind != kNull {
		return true
	}
	line, col, path := 0, 0, name
	if n != nil {
		line, col, path = n.line, n.col, childPath(n.path, name)
	}
	d.ps.add(line, col, path, "missing required field")
	return false
}

func (d *decoder) str(n *node, dst *string) bool {
	if n.bad {
		return false
	}
	switch n.kind {
	case kNull:
		return false
	case kMap, kSeq:
		d.ps.at(n, "expected a string, got %s", n.kind)
		return false
	}
	*dst = n.str
	return true
}

// scalar is a typed value's text: its own kind, or any string that came out
// of a template (templates always yield text).
func (d *decoder) scalar(n *node, want kind) (string, bool) {
	if n.bad {
		return "", false
	}
	if n.kind == want || (n.kind == kString && n.templated) || (want == kFloat && n.kind == kInt) {
		return strings.TrimSpace(n.str), true
	}
	got := n.kind.String()
	if n.kind != kMap && n.kind != kSeq && n.kind != kNull {
		got += " " + strconv.Quote(n.str)
	}
	d.ps.at(n, "expected %s, got %s", want, got)
	return "", false
}

func (d *decoder) integer(n *node, dst *int, lo, hi int) bool {
	s, ok := d.scalar(n, kInt)
	if !ok {
		return false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		d.ps.at(n, "expected an integer, got %q", s)
		return false
	}
	if v < lo || v > hi {
		if hi == math.MaxInt32 {
			d.ps.at(n, "%d out of range: must be at least %d", v, lo)
		} else {
			d.ps.at(n, "%d out of range: must be between %d and %d", v, lo, hi)
		}
		return false
	}
	*dst = v
	return true
}

func (d *decoder) float(n *node, dst *float64) bool {
	s, ok := d.scalar(n, kFloat)
	if !ok {
		return false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		d.ps.at(n, "expected a non-negative number, got %q", s)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) boolean(n *node, dst *bool) bool {
	s, ok := d.scalar(n, kBool)
	if !ok {
		return false
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		d.ps.at(n, "expected true or false, got %q", s)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) duration(n *node, dst *time.Duration) bool {
	var s string
	if n.kind == kInt && n.str == "0" {
		*dst = 0
		return true
	}
	if !d.str(n, &s) {
		return false
	}
	v, err := parseDuration(s)
	if err != nil {
		d.ps.at(n, "%v", err)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) percent(n *node, dst *float64) bool {
	var s string
	if !d.str(n, &s) {
		return false
	}
	v, err := parsePercent(s)
	if err != nil {
		d.ps.at(n, "%v", err)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) countOrPercent(n *node, dst *CountOrPercent) bool {
	if n.kind == kInt || (n.templated && !strings.HasSuffix(strings.TrimSpace(n.str), "%")) {
		var c int
		if d.integer(n, &c, 0, math.MaxInt32) {
			*dst = CountOrPercent{N: c}
			return true
		}
		return false
	}
	var p float64
	if d.percent(n, &p) {
		*dst = CountOrPercent{Percent: p, IsPercent: true}
		return true
	}
	return false
}

func (d *decoder) enum(n *node, dst *string, allowed []string) bool {
	var s string
	if !d.str(n, &s) {
		return false
	}
	if !contains(allowed, s) {
		d.ps.at(n, "invalid value %q: must be one of %s%s", s, strings.Join(allowed, ", "), suggest(s, allowed))
		return false
	}
	*dst = s
	return true
}

func (d *decoder) strings(n *node, dst *[]string) bool {
	if n.kind == kNull {
		return false
	}
	if n.kind != kSeq {
		d.ps.at(n, "expected a list of strings, got %s", n.kind)
		return false
	}
	out := make([]string, 0, len(n.items))
	ok := true
	for _, it := range n.items {
		var s string
		if d.str(it, &s) {
			out = append(out, s)
		} else {
			ok = false
		}
	}
	*dst = out
	return ok
}

func (d *decoder) stringMap(n *node, dst *map[string]string) {
	if n.kind == kNull {
		return
	}
	if n.kind != kMap {
		d.ps.at(n, "expected a mapping of names to values, got %s", n.kind)
		return
	}
	out := map[string]string{}
	for k, v := range *dst {
		out[k] = v
	}
	for _, e := range n.entries {
		var s string
		if e.val.kind == kNull {
			s = ""
		} else if !d.str(e.val, &s) {
			continue
		}
		out[e.key.str] = s
	}
	*dst = out
}

// seq returns the items of a list (null = empty), reporting anything else.
func (d *decoder) seq(n *node) []*node {
	if n.kind == kNull {
		return nil
	}
	if n.kind != kSeq {
		d.ps.at(n, "expected a list, got %s", n.kind)
		return nil
	}
	return n.items
}
