package e2e

import (
	"strings"
	"testing"
)

// TestEveryCommandHasHelpWithExample walks the command tree and asserts that
// every command answers --help with an example.
func TestEveryCommandHasHelpWithExample(t *testing.T) {
	home := t.TempDir()
	root := mustFerry(t, t.TempDir(), home, nil, "--help")
	cmds := commandsIn(root.Stdout)
	if len(cmds) == 0 {
		t.Fatalf("no commands listed in ferry --help:\n%s", root.Stdout)
	}
	for _, c := range cmds {
		if c == "help" || c == "completion" {
			continue
		}
		r := mustFerry(t, t.TempDir(), home, nil, c, "--help")
		if !strings.Contains(r.Stdout, "Examples:") {
			t.Errorf("ferry %s --help has no example:\n%s", c, r.Stdout)
		}
	}
}

// commandsIn extracts the names under "Available Commands:".
func commandsIn(help string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			out = append(out, strings.Fields(line)[0])
		}
	}
	return out
}
