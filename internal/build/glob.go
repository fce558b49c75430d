package build

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// checkPattern rejects input globs that are malformed or reach outside the
// checkout.
func checkPattern(p string) error {
	if p == "" || path.IsAbs(p) {
		return fmt.Errorf("input %q: must be a relative path or glob", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Errorf("input %q: must not leave the repository", p)
		}
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("input %q: malformed glob: %w", p, err)
		}
	}
	return nil
}

// matchInputs reports whether the slash-separated path name is covered by any
// of the patterns; no patterns cover everything.
func matchInputs(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	segs := strings.Split(name, "/")
	return slices.ContainsFunc(patterns, func(p string) bool {
		return matchPrefix(splitPattern(p), segs)
	})
}

func splitPattern(p string) []string {
	var out []string
	for _, s := range strings.Split(path.Clean(p), "/") {
		if s != "." {
			out = append(out, s)
		}
	}
	return out
}

// matchPrefix reports whether pat matches name or one of its parent
// directories: once the pattern is used up, what remains of the name is
// inside a matched directory.
func matchPrefix(pat, name []string) bool {
	if len(pat) == 0 {
		return true
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchPrefix(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], name[0])
	return ok && matchPrefix(pat[1:], name[1:])
}
