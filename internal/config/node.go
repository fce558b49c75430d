package config

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// kind is the shape of a node in the definition tree.
type kind int

const (
	kNull kind = iota
	kString
	kInt
	kFloat
	kBool
	kMap
	kSeq
)

func (k kind) String() string {
	return [...]string{"null", "a string", "an integer", "a number", "a boolean", "a mapping", "a list"}[k]
}

// node is the definition tree ferry works on: YAML reduced to what the schema
// needs, each node remembering where it was written (line, col and the field
// path as written) so that problems found after overlays are merged still
// point into the file, into the overlay when the value came from one.
type node struct {
	kind      kind
	line, col int
	path      string
	str       string // scalar text, after template expansion
	templated bool   // str came out of a template: typed fields parse it
	bad       bool   // its template failed (reported): decoders skip it
	entries   []entry
	items     []*node
}

type entry struct {
	key *node // a kString node; key.str is the field name
	val *node
}

// get returns the value of field name in a mapping, or nil.
func (n *node) get(name string) *node {
	if i := n.index(name); i >= 0 {
		return n.entries[i].val
	}
	return nil
}

// index returns the position of field name in a mapping, or -1.
func (n *node) index(name string) int {
	if n == nil || n.kind != kMap {
		return -1
	}
	for i, e := range n.entries {
		if e.key.str == name {
			return i
		}
	}
	return -1
}

// maxNodes bounds the tree so that alias expansion ("billion laughs") cannot
// exhaust memory; real definitions are a few hundred nodes.
const maxNodes = 20_000

// parseTree parses YAML text into a tree, reporting syntax problems with
// their position. It returns nil when the text is not usable at all.
func parseTree(data []byte, ps *problems) *node {
	// Duplicate keys are found while converting (mapping), so that they are
	// reported with every other problem rather than alone.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		var pe interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &pe) && pe.GetToken() != nil {
			pos := pe.GetToken().Position
			ps.add(pos.Line, pos.Column, "", "invalid YAML: %s", pe.GetMessage())
		} else {
			ps.add(0, 0, "", "invalid YAML: %v", err)
		}
		return nil
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			bodies = append(bodies, d.Body)
		}
	}
	switch {
	case len(bodies) == 0:
		ps.add(0, 0, "", "empty definition: expected a mapping with at least app and services")
		return nil
	case len(bodies) > 1:
		pos := position(bodies[1], 0, 0)
		ps.add(pos.Line, pos.Column, "", "more than one YAML document: a definition is a single document")
		return nil
	}
	c := converter{ps: ps, anchors: map[string]ast.Node{}}
	root := c.convert(bodies[0], "", 1, 1)
	if c.overflow {
		return nil
	}
	return root
}

type converter struct {
	ps       *problems
	anchors  map[string]ast.Node
	count    int
	overflow bool
	depth    int
}

func position(n ast.Node, line, col int) token.Position {
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return *tk.Position
		}
	}
	return token.Position{Line: line, Column: col}
}

func childPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// convert turns an AST node into a tree node; line/col is the fallback
// position (the key's) for nodes without a token of their own.
func (c *converter) convert(n ast.Node, path string, line, col int) *node {
	c.count++
	if c.count > maxNodes || c.depth > 100 {
		if !c.overflow {
			c.ps.add(line, col, path, "definition too large or too deeply nested (more than %d values after alias expansion)", maxNodes)
		}
		c.overflow = true
		return &node{kind: kNull, line: line, col: col, path: path}
	}
	c.depth++
	defer func() { c.depth-- }()
	pos := position(n, line, col)
	out := &node{line: pos.Line, col: pos.Column, path: path}
	switch v := n.(type) {
	case nil, *ast.NullNode:
		out.kind = kNull
	case *ast.StringNode:
		out.kind, out.str = kString, v.Value
	case *ast.LiteralNode:
		out.kind = kString
		if v.Value != nil {
			out.str = v.Value.Value
		}
	case *ast.IntegerNode:
		out.kind, out.str = kInt, v.Token.Value
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		out.kind, out.str = kFloat, n.GetToken().Value
	case *ast.BoolNode:
		out.kind, out.str = kBool, strconv.FormatBool(v.Value)
	case *ast.TagNode:
		return c.convert(v.Value, path, pos.Line, pos.Column)
	case *ast.AnchorNode:
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = v.Value
		}
		return c.convert(v.Value, path, pos.Line, pos.Column)
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		target, ok := c.anchors[name]
		if !ok {
			c.ps.add(pos.Line, pos.Column, path, "alias *%s names no anchor defined before it", name)
			out.kind = kNull
			return out
		}
		return c.convert(target, path, pos.Line, pos.Column)
	case *ast.MappingNode:
		out.kind = kMap
		c.mapping(out, v.Values)
	case *ast.MappingValueNode:
		out.kind = kMap
		c.mapping(out, []*ast.MappingValueNode{v})
	case *ast.SequenceNode:
		out.kind = kSeq
		for i, item := range v.Values {
			out.items = append(out.items, c.convert(item, fmt.Sprintf("%s[%d]", path, i), pos.Line, pos.Column))
		}
	default:
		c.ps.add(pos.Line, pos.Column, path, "unsupported YAML construct %s", n.Type())
		out.kind = kNull
	}
	return out
}

func (c *converter) mapping(out *node, values []*ast.MappingValueNode) {
	if len(values) > 0 {
		kp := position(values[0].Key, out.line, out.col)
		out.line, out.col = kp.Line, kp.Column
	}
	explicit := map[string]token.Position{} // keys written in this mapping, not merged
	for _, mv := range values {
		kp := position(mv.Key, out.line, out.col)
		if mv.Key != nil && mv.Key.IsMergeKey() {
			c.merge(out, mv, kp)
			continue
		}
		name, ok := scalarKey(mv.Key)
		if !ok {
			c.ps.add(kp.Line, kp.Column, out.path, "a key must be a plain string")
			continue
		}
		path := childPath(out.path, name)
		if first, dup := explicit[name]; dup {
			c.ps.add(kp.Line, kp.Column, path, "%s is set twice: already at line %d, column %d; keep one", name, first.Line, first.Column)
			continue
		}
		explicit[name] = kp
		key := &node{kind: kString, str: name, line: kp.Line, col: kp.Column, path: path}
		e := entry{key: key, val: c.convert(mv.Value, path, kp.Line, kp.Column)}
		if i := out.index(name); i >= 0 {
			out.entries[i] = e // an explicit key wins over one from a merge key
		} else {
			out.entries = append(out.entries, e)
		}
	}
}

// merge applies a YAML merge key (<<: *anchor): keys already present win.
func (c *converter) merge(out *node, mv *ast.MappingValueNode, kp token.Position) {
	src := c.convert(mv.Value, out.path, kp.Line, kp.Column)
	var maps []*node
	switch src.kind {
	case kMap:
		maps = []*node{src}
	case kSeq:
		maps = src.items
	}
	for _, m := range maps {
		if m.kind != kMap {
			c.ps.add(kp.Line, kp.Column, out.path, "merge key << needs a mapping or a list of mappings")
			return
		}
		for _, e := range m.entries {
			if out.index(e.key.str) < 0 {
				out.entries = append(out.entries, e)
			}
		}
	}
	if len(maps) == 0 {
		c.ps.add(kp.Line, kp.Column, out.path, "merge key << needs a mapping or a list of mappings")
	}
}

func scalarKey(k ast.MapKeyNode) (string, bool) {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	case *ast.TagNode:
		if s, ok := v.Value.(ast.MapKeyNode); ok {
			return scalarKey(s)
		}
	}
	return "", false
}

// clone deep-copies a tree (overlays must not alias the base).
func (n *node) clone() *node {
	if n == nil {
		return nil
	}
	c := *n
	c.entries = make([]entry, len(n.entries))
	for i, e := range n.entries {
		c.entries[i] = entry{key: e.key, val: e.val.clone()}
	}
	c.items = make([]*node, len(n.items))
	for i, it := range n.items {
		c.items[i] = it.clone()
	}
	return &c
}

// mergeOverlay returns base with over applied: mappings merge deeply, any
// other value (lists included) replaces. Nodes keep their written positions.
func mergeOverlay(base, over *node) *node {
	if over == nil {
		return base.clone()
	}
	if base == nil || base.kind != kMap || over.kind != kMap {
		return over.clone()
	}
	out := base.clone()
	for _, e := range over.entries {
		replaced := false
		for i := range out.entries {
			if out.entries[i].key.str == e.key.str {
				out.entries[i].val = mergeOverlay(out.entries[i].val, e.val)
				replaced = true
				break
			}
		}
		if !replaced {
			out.entries = append(out.entries, entry{key: e.key, val: e.val.clone()})
		}
	}
	return out
}
