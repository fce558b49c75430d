package build

import (
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

func TestMatchInputs(t *testing.T) {
	tests := []struct {
		patterns []string
		name     string
		want     bool
	}{
		{nil, "any/thing.go", true},
		{[]string{"go.mod"}, "go.mod", true},
		{[]string{"go.mod"}, "sub/go.mod", false},
		{[]string{"*.go"}, "main.go", true},
		{[]string{"*.go"}, "cmd/main.go", false},
		{[]string{"**/*.go"}, "main.go", true},
		{[]string{"**/*.go"}, "cmd/shop/main.go", true},
		{[]string{"**/*.go"}, "cmd/shop/main.js", false},
		{[]string{"cmd/**"}, "cmd/shop/main.go", true},
		{[]string{"cmd/**"}, "cmdx/main.go", false},
		{[]string{"cmd/**/main.go"}, "cmd/main.go", true},
		{[]string{"cmd/**/main.go"}, "cmd/a/b/main.go", true},
		{[]string{"src"}, "src/deep/file", true}, // a directory covers its contents
		{[]string{"src/"}, "src/file", true},
		{[]string{"src"}, "srcfile", false},
		{[]string{"a.txt", "b.txt"}, "b.txt", true},
		{[]string{"[ab].txt"}, "c.txt", false},
	}
	for _, tt := range tests {
		if got := matchInputs(tt.patterns, tt.name); got != tt.want {
			t.Errorf("matchInputs(%q, %q) = %v, want %v", tt.patterns, tt.name, got, tt.want)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	for _, p := range []string{"go.mod", "**/*.go", "src/", "a/**/b", "[ab]*"} {
		if err := checkPattern(p); err != nil {
			t.Errorf("checkPattern(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "/etc/passwd", "../up", "a/../../b", "[", "a/[x"} {
		err := checkPattern(p)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", p)) {
			t.Errorf("checkPattern(%q) = %v, want an error naming it", p, err)
		}
	}
}

func file(sum string) entry                        { return entry{Mode: 0o644, Sum: sum} }
func exe(sum string) entry                         { return entry{Mode: 0o755, Sum: sum} }
func dir() entry                                   { return entry{Mode: fs.ModeDir | 0o755} }
func link(to string) entry                         { return entry{Mode: fs.ModeSymlink | 0o777, Sum: to} }
func keyOf(prev string, s Step, m manifest) string { return stepKey(prev, s, m) }

func TestDiff(t *testing.T) {
	before := manifest{"a": file("1"), "b": file("2"), "d": dir(), "d/x": file("3"), "l": link("a"), "gone": file("4")}
	after := manifest{"a": file("1"), "b": exe("2"), "d": dir(), "d/x": file("33"), "l": link("b"), "new": dir(), "new/f": file("5")}
	changed, deleted := diff(before, after)
	if want := []string{"b", "d/x", "l", "new", "new/f"}; !slices.Equal(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
	if want := []string{"gone"}; !slices.Equal(deleted, want) {
		t.Errorf("deleted = %v, want %v", deleted, want)
	}
	if c, d := diff(before, before); c != nil || d != nil {
		t.Errorf("diff of equal manifests = %v, %v", c, d)
	}
}

func TestStepKey(t *testing.T) {
	s := Step{Name: "app", Run: "make", Env: map[string]string{"A": "1", "B": "2"}, Inputs: []string{"src/**"}}
	m := manifest{"src": dir(), "src/a.c": file("1"), "README": file("r")}
	base := keyOf("prev", s, m)

	same := []struct {
		name string
		key  string
	}{
		{"env given in another order", keyOf("prev", Step{Name: "app", Run: "make", Env: map[string]string{"B": "2", "A": "1"}, Inputs: []string{"src/**"}}, m)},
		{"a file outside the inputs changes", keyOf("prev", s, manifest{"src": dir(), "src/a.c": file("1"), "README": file("changed")})},
		{"a new file outside the inputs", keyOf("prev", s, manifest{"src": dir(), "src/a.c": file("1"), "README": file("r"), "x": file("x")})},
	}
	for _, tt := range same {
		if tt.key != base {
			t.Errorf("%s: key changed", tt.name)
		}
	}
	with := func(f func(*Step)) string {
		c := s
		c.Env = map[string]string{"A": "1", "B": "2"}
		f(&c)
		return keyOf("prev", c, m)
	}
	differ := []struct {
		name string
		key  string
	}{
		{"previous key", keyOf("other", s, m)},
		{"name", with(func(c *Step) { c.Name = "app2" })},
		{"command", with(func(c *Step) { c.Run = "make all" })},
		{"env value", with(func(c *Step) { c.Env["B"] = "3" })},
		{"env added", with(func(c *Step) { c.Env["C"] = "" })},
		{"inputs", with(func(c *Step) { c.Inputs = []string{"src/**", "README"} })},
		{"input content", keyOf("prev", s, manifest{"src": dir(), "src/a.c": file("2"), "README": file("r")})},
		{"input mode", keyOf("prev", s, manifest{"src": dir(), "src/a.c": exe("1"), "README": file("r")})},
		{"input added", keyOf("prev", s, manifest{"src": dir(), "src/a.c": file("1"), "src/b.c": file("1"), "README": file("r")})},
		{"input renamed", keyOf("prev", s, manifest{"src": dir(), "src/b.c": file("1"), "README": file("r")})},
		{"env key that looks like a list marker", with(func(c *Step) { c.Env = map[string]string{"A": "1", "B": "2", "src/**": ""} })},
	}
	for _, tt := range differ {
		if tt.key == base {
			t.Errorf("changing the %s did not change the key", tt.name)
		}
	}
	// No inputs: every file counts.
	all := Step{Name: "x", Run: "y"}
	if keyOf("", all, m) == keyOf("", all, manifest{"src": dir(), "src/a.c": file("1"), "README": file("changed")}) {
		t.Error("a step without inputs ignored a file change")
	}
}

func TestLineWriter(t *testing.T) {
	var out bytes.Buffer
	w := &lineWriter{prefix: "[s] ", out: &out}
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\r\n"))
	for i := range tailLines + 5 {
		fmt.Fprintf(w, "l%d\n", i)
	}
	w.Write([]byte("partial"))
	w.flush()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if lines[0] != "[s] one" || lines[1] != "[s] two" || lines[len(lines)-1] != "[s] partial" {
		t.Fatalf("output lines %q", lines)
	}
	if len(w.tail) != tailLines || w.tail[len(w.tail)-1] != "partial" || w.tail[0] != "l6" {
		t.Fatalf("tail %q", w.tail)
	}
	long := &lineWriter{out: &out}
	long.Write(bytes.Repeat([]byte("x"), maxLine+10))
	long.flush()
	if len(long.tail) != 2 || len(long.tail[0]) != maxLine {
		t.Fatalf("an over-long line was kept whole or lost: %d pieces", len(long.tail))
	}
}
