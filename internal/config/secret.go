package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// masker replaces recorded secret values with ***. The nil masker masks
// nothing.
type masker struct {
	values []string // longest first, so a secret containing another masks whole
	raw    []string // the values as the secret function returned them
}

// add records a secret value, with the escaped spellings it takes when
// quoted by an error message (%q) or by JSON.
func (m *masker) add(v string) {
	if v == "" {
		return
	}
	if !contains(m.raw, v) {
		m.raw = append(m.raw, v)
	}
	q := strconv.Quote(v)
	j, _ := json.Marshal(v)
	for _, s := range []string{v, q[1 : len(q)-1], string(j[1 : len(j)-1])} {
		if !contains(m.values, s) {
			m.values = append(m.values, s)
		}
	}
	sort.Slice(m.values, func(i, k int) bool { return len(m.values[i]) > len(m.values[k]) })
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Mask returns s with every recorded secret value replaced by ***.
func (m *masker) Mask(s string) string {
	if m == nil {
		return s
	}
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

var secretName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// readSecret finds secret name in $FERRY_HOME/secrets/name (which must be
// private to its owner) or else in the environment.
func readSecret(homeDir, name string, lookupEnv func(string) (string, bool)) (string, error) {
	if !secretName.MatchString(name) {
		return "", fmt.Errorf("secret %q: a secret name is letters, digits, _ . - (not starting with . or -)", name)
	}
	if homeDir != "" {
		path := filepath.Join(homeDir, "secrets", name)
		fi, err := os.Stat(path)
		switch {
		case err == nil:
			if !fi.Mode().IsRegular() {
				return "", fmt.Errorf("secret %s: %s is not a regular file", name, path)
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				return "", fmt.Errorf("secret %s: %s is readable by group or others (mode %04o); run chmod 600 %s", name, path, perm, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("secret %s: %w", name, err)
			}
			return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), nil
		case !os.IsNotExist(err):
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
	}
	if v, ok := lookupEnv(name); ok {
		return v, nil
	}
	where := "the environment"
	if homeDir != "" {
		where = filepath.Join(homeDir, "secrets", name) + " or the environment"
	}
	return "", fmt.Errorf("secret %s: not found in %s", name, where)
}
