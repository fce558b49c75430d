package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a definition, positioned in the file the
// user wrote (Line and Col are 1-based; 0 when the problem has no place).
type Problem struct {
	File      string
	Line, Col int
	Field     string // dotted path as written, e.g. environments.staging.services.web.count
	Msg       string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in one definition; Load and Parse return it
// so that a user fixes everything in one pass.
type Errors struct {
	Problems []Problem
}

func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems for one file, dropping exact repeats (an overlay
// re-validates the base it inherits, which must not report twice).
type problems struct {
	file string
	list []Problem
	seen map[Problem]bool
}

func (ps *problems) add(line, col int, field, format string, args ...any) {
	p := Problem{File: ps.file, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)}
	if ps.seen == nil {
		ps.seen = map[Problem]bool{}
	}
	if ps.seen[p] {
		return
	}
	ps.seen[p] = true
	ps.list = append(ps.list, p)
}

// at reports a problem positioned at n, named by n's written path.
func (ps *problems) at(n *node, format string, args ...any) {
	ps.add(n.line, n.col, n.path, format, args...)
}

// err returns the collected problems as *Errors (masked), or nil.
func (ps *problems) err(m *masker) error {
	if len(ps.list) == 0 {
		return nil
	}
	out := make([]Problem, len(ps.list))
	for i, p := range ps.list {
		p.Msg = m.Mask(p.Msg)
		p.Field = m.Mask(p.Field)
		out[i] = p
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	return &Errors{Problems: out}
}
