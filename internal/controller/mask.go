package controller

import (
	"slices"
	"strings"
)

// masker replaces secret values with ***. The zero value masks nothing.
type masker struct{ values []string }

func newMasker(values ...[]string) masker {
	var m masker
	for _, vs := range values {
		for _, v := range vs {
			if v != "" && !slices.Contains(m.values, v) {
				m.values = append(m.values, v)
			}
		}
	}
	// Longest first, so a secret containing another is masked whole.
	slices.SortFunc(m.values, func(a, b string) int { return len(b) - len(a) })
	return m
}

func (m masker) mask(s string) string {
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
